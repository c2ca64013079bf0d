"""Character-level tokenizer (nanoGPT style): one id per Unicode character."""

import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.tokenizers.base import Tokenizer


class CharTokenizer(Tokenizer):
    """Maps each Unicode character to an id, in TensorFlow ops.

    The ids are positions in ``vocabulary``; ``train`` sorts the characters of the
    corpus, so tiny Shakespeare gives nanoGPT's 65 ids in nanoGPT's order.

    Characters that are not in the vocabulary are DROPPED by default (the text is
    tokenized as if they were absent). With ``unknown_token`` they map to that
    token's id instead; it is appended to the vocabulary if missing, so the ids of
    the corpus characters do not move. Invalid UTF-8 bytes in the input are read as
    U+FFFD, i.e. as an unknown character (or as U+FFFD's own id if it is in the
    vocabulary). Ids outside ``[0, vocab_size)`` are dropped by ``detokenize``.

    Args:
        vocabulary: list of str, the token of each id; all single characters except
            possibly ``unknown_token``.
        unknown_token: optional str that unknown characters map to (e.g. ``"\\ufffd"``);
            it decodes back to itself.
        name: ``tf.Module`` name.

    Example:
        >>> tok = CharTokenizer.train("hello world")
        >>> tok.vocabulary
        [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
        >>> tok.tokenize(["hold", "hex"]).to_list()   # "x" is unknown: dropped
        [[3, 5, 4, 1], [3, 2]]
        >>> tok.detokenize([[3, 2, 4, 4, 5]]).numpy()
        array([b'hello'], dtype=object)
    """

    def __init__(self, vocabulary, unknown_token=None, name=None):
        vocabulary = [str(token) for token in vocabulary]
        if unknown_token is not None:
            unknown_token = str(unknown_token)
            if not unknown_token:
                raise UserInputError("unknown_token must be a non-empty string or None")
            if unknown_token not in vocabulary:
                vocabulary.append(unknown_token)
        if not vocabulary:
            raise UserInputError("CharTokenizer needs a non-empty vocabulary")
        if len(set(vocabulary)) != len(vocabulary):
            raise UserInputError("CharTokenizer vocabulary has duplicate entries")
        too_long = [t for t in vocabulary if len(t) != 1 and t != unknown_token]
        if too_long:
            raise UserInputError(
                f"CharTokenizer vocabulary entries must be single characters; got {too_long[:5]}")
        super().__init__([token.encode("utf-8") for token in vocabulary], name=name)
        # A tuple: tf.Module would wrap a list in a tracked, mutable ListWrapper.
        self._vocabulary = tuple(vocabulary)
        self.unknown_token = unknown_token
        self._char_to_id = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(vocabulary, tf.string), tf.range(len(vocabulary), dtype=tf.int32)),
            default_value=-1)

    @classmethod
    def train(cls, text, unknown_token=None):
        """Build the vocabulary from a corpus: the sorted set of its characters.

        Args:
            text: str, the training corpus.
            unknown_token: see the class docstring.

        Returns:
            A ``CharTokenizer``.
        """
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.train expects the corpus as a str; got {type(text)}")
        if not text:
            raise UserInputError("CharTokenizer.train got an empty corpus")
        return cls(sorted(set(text)), unknown_token=unknown_token)

    @property
    def vocabulary(self):
        """list of str: the token of each id."""
        return list(self._vocabulary)

    @property
    def unknown_token_id(self):
        """Id that unknown characters map to, or None when they are dropped."""
        if self.unknown_token is None:
            return None
        return self._vocabulary.index(self.unknown_token)

    def _tokenize_batch(self, strings):
        # errors="replace" turns invalid UTF-8 into U+FFFD instead of failing the graph.
        chars = tf.strings.unicode_split(strings, "UTF-8", errors="replace")
        ids = tf.ragged.map_flat_values(self._char_to_id.lookup, chars)
        if self.unknown_token is None:
            return tf.ragged.boolean_mask(ids, ids >= 0)
        unknown_id = tf.constant(self.unknown_token_id, tf.int32)
        return tf.ragged.map_flat_values(
            lambda flat: tf.where(flat >= 0, flat, unknown_id), ids)

    def get_config(self):
        """JSON-able config; ``CharTokenizer(**config)`` rebuilds the tokenizer."""
        return {"vocabulary": self.vocabulary, "unknown_token": self.unknown_token}
