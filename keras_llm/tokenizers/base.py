"""What the in-graph tokenizers share: input shapes, detokenization, encode/decode, save/load."""

import json
import os

import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.files import atomic_directory

CONFIG_FILENAME = "tokenizer.json"
_FORMAT_VERSION = 1


class Tokenizer(tf.Module):
    """Base class of the in-graph tokenizers (a ``tf.Module``, so exports track its tables).

    Subclasses implement ``_tokenize_batch`` (``tf.string [batch]`` → ragged int32
    ``[batch, None]``) as TensorFlow ops, ``vocabulary``, ``get_config``,
    ``_save_assets`` and ``_from_directory``, and pass the raw bytes of every id to
    ``__init__``; detokenization is then a table lookup and a join.

    Ids outside ``[0, vocab_size)`` are dropped by ``detokenize`` (they decode to
    nothing), so sampled ids or -1 padding never crash a serving graph.
    """

    def __init__(self, id_bytes, name=None):
        super().__init__(name=name)
        self._id_to_bytes = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.range(len(id_bytes), dtype=tf.int64), tf.constant(id_bytes, tf.string)),
            default_value=b"")
        # One traced graph for all batch sizes; BPE also needs it, because keras-hub
        # runs its TF (not its Python) code path only inside a tf.function.
        self._tokenize_fn = tf.function(
            self._tokenize_batch, input_signature=[tf.TensorSpec([None], tf.string)])

    @property
    def vocab_size(self):
        """Number of ids (including special/unknown tokens)."""
        return len(self.vocabulary)

    @property
    def end_token_id(self):
        """Id of the end-of-text token, or None when the tokenizer has none."""
        return None

    def tokenize(self, strings):
        """Strings → token ids, as TensorFlow ops (works in tf.function and tf.data).

        Args:
            strings: ``tf.string`` of shape ``(batch,)`` or a Python list of str; a
                scalar string is also accepted (e.g. unbatched ``tf.data`` elements).

        Returns:
            int32 ``tf.RaggedTensor`` ``(batch, None)``; for a scalar input a dense
            int32 ``(None,)`` tensor.
        """
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        if strings.shape.rank == 0:
            return self._tokenize_fn(strings[tf.newaxis])[0]
        if strings.shape.rank != 1:
            raise UserInputError(f"tokenize expects strings of shape (batch,); got {strings.shape}")
        return self._tokenize_fn(strings)

    def detokenize(self, ids):
        """Token ids → strings, as TensorFlow ops.

        Args:
            ids: int ``(batch, len)`` dense tensor, ``tf.RaggedTensor`` ``(batch, None)``,
                or nested Python lists; a single sequence ``(len,)`` is also accepted.
                Ids outside ``[0, vocab_size)`` are dropped.

        Returns:
            ``tf.string`` ``(batch,)`` (a scalar for a single sequence). The bytes are
            what the ids spell; byte-level ids cut mid-character may give invalid UTF-8.
        """
        ids, single = self._id_batch(ids)
        text = tf.strings.reduce_join(self._id_to_bytes.lookup(ids), axis=-1)
        return text[0] if single else text

    def detokenize_continuation(self, prompts, ids):
        """The text of ``ids`` generated after ``prompts``, to be printed right after each prompt.

        Args:
            prompts: ``tf.string`` ``(batch,)``, the texts the ids continue.
            ids: int ``(batch, len)`` or ragged ``(batch, None)``, the new tokens of each row.

        Returns:
            ``tf.string`` ``(batch,)``. Tokenizers whose ids spell their own spacing (characters,
            bytes) return ``detokenize(ids)``; a word tokenizer adds the space it puts between words.
        """
        return self.detokenize(ids)

    @staticmethod
    def _id_batch(ids):
        """Any accepted form of ids → ``(int64 RaggedTensor (batch, None), was_one_sequence)``."""
        if isinstance(ids, (list, tuple)):
            ids = tf.ragged.constant(ids, dtype=tf.int64)
        elif not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
        single = ids.shape.rank == 1
        if single:
            ids = ids[tf.newaxis]
        if ids.shape.rank != 2:
            raise UserInputError(f"detokenize expects ids of shape (batch, len); got {ids.shape}")
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        return tf.cast(ids, tf.int64), single

    def encode(self, text):
        """Python convenience: one str → list of int ids (eager).

        Example:
            >>> tok.decode(tok.encode("To be")) == "To be"
            True
        """
        return self.tokenize(tf.constant([text]))[0].numpy().tolist()

    def decode(self, ids):
        """Python convenience: list of int ids → str (invalid UTF-8 becomes U+FFFD)."""
        text = self.detokenize(tf.constant([list(ids)], tf.int64, shape=[1, len(ids)]))[0]
        return text.numpy().decode("utf-8", errors="replace")

    def save(self, directory):
        """Write the tokenizer's files and ``tokenizer.json`` (class name + config).

        Written into a temporary folder that replaces ``directory`` in one rename, so a crash
        never leaves half a vocabulary behind.
        """
        with atomic_directory(directory) as tmp_directory:
            self._save_assets(tmp_directory)
            record = {"class_name": type(self).__name__, "format_version": _FORMAT_VERSION,
                      "config": self.get_config()}
            with open(os.path.join(tmp_directory, CONFIG_FILENAME), "w", encoding="utf-8") as f:
                json.dump(record, f, ensure_ascii=False, indent=1)

    @classmethod
    def load(cls, directory):
        """Rebuild a tokenizer of this class from a directory written by ``save``."""
        record = read_config(directory)
        if record["class_name"] != cls.__name__:
            raise UserInputError(
                f"{directory} holds a {record['class_name']}, not a {cls.__name__}")
        return cls._from_directory(directory, record["config"])

    # Subclass hooks.
    def _tokenize_batch(self, strings):
        raise NotImplementedError

    def _save_assets(self, directory):
        pass

    @classmethod
    def _from_directory(cls, directory, config):
        return cls(**config)


def tokenize_around(strings, separators, tokenize):
    """Tokenize text cut at literal separators, putting each separator's fixed ids back.

    Args:
        strings: ``tf.string`` ``(batch,)``.
        separators: sequence of ``(separator_str, ids)``, cut in this order (the pieces
            between the first separator's occurrences are cut at the second, ...).
        tokenize: function ``tf.string (n,)`` → ragged int32 ``(n, None)``.

    Returns:
        Ragged int32 ``(batch, None)``.
    """
    if not separators:
        return tokenize(strings)
    (separator, separator_ids), rest = separators[0], separators[1:]
    pieces = tf.strings.split(strings, sep=separator)  # (batch, pieces)
    ids = tokenize_around(pieces.flat_values, rest, tokenize)  # (all pieces, None)
    # Every piece but the last one of its string was followed by the separator.
    position = tf.range(tf.size(pieces.flat_values, out_type=tf.int64))
    last = tf.gather(pieces.row_splits[1:], pieces.value_rowids()) - 1
    followed = tf.cast(position != last, tf.int64)
    suffix = tf.RaggedTensor.from_row_lengths(
        tf.tile(tf.constant(separator_ids, tf.int32), [tf.reduce_sum(followed)]),
        followed * len(separator_ids))
    ids = tf.concat([ids, suffix], axis=1)
    return tf.RaggedTensor.from_row_splits(ids, pieces.row_splits).merge_dims(1, 2)


def fill_empty_rows(ids, token_id):
    """Give each empty row of ragged ``ids`` ``(batch, None)`` the single token ``token_id``.

    Pads with the token and keeps ``max(length, 1)`` items per row. (A ragged ``tf.concat`` of the
    filler would do the same, but it concatenates int64 row splits, which makes TensorFlow's
    oneDNN build log an error-level line on every first use.)

    Example:
        >>> fill_empty_rows(tf.ragged.constant([[5, 6], []]), 1)   # [[5, 6], [1]]
    """
    token = tf.cast(token_id, ids.dtype)
    dense = tf.pad(ids.to_tensor(default_value=token), [[0, 0], [0, 1]], constant_values=token)
    return tf.RaggedTensor.from_tensor(dense, lengths=tf.maximum(ids.row_lengths(), 1))


def read_config(directory):
    """The ``tokenizer.json`` record of a saved tokenizer directory."""
    path = os.path.join(directory, CONFIG_FILENAME)
    if not os.path.isfile(path):
        raise UserInputError(f"no {CONFIG_FILENAME} in {directory!r}; is it a saved tokenizer?")
    with open(path, encoding="utf-8") as f:
        record = json.load(f)
    if "class_name" not in record or "config" not in record:
        raise UserInputError(f"{path} is not a keras-llm tokenizer config")
    return record
