"""Text pairs of every seq2seq task (translation, summarization, title generation): a TSV and JSON Lines
reader, per-side WordPiece vocabularies and a tf.data pipeline.

TSV format: UTF-8 text, one pair per line, columns separated by tabs, no header; by default
column 0 is the source and column 1 the target (``source<TAB>target``); other columns are ignored.
Blank lines are skipped. JSON Lines (``.jsonl``): see :mod:`keras_llm.data.jsonl_pairs` (named
fields, a list of source sentences, several reference targets).

Special tokens: the WordPiece vocabularies reserve ``[PAD] [UNK] [CLS] [SEP] [MASK]`` as ids 0-4.
Id 0 is padding on both sides; on the target side ``[CLS]`` (id 2) is the start token and
``[SEP]`` (id 3) the end token (see :func:`start_end_ids`). Sources get no special tokens.
"""

import os

import numpy as np
import tensorflow as tf

from keras_llm.data.jsonl_pairs import is_jsonl, read_jsonl_pairs
from keras_llm.data.text import read_user_file
from keras_llm.errors import UserInputError
from keras_llm.tokenizers import WordPieceTokenizer
from keras_llm.tokenizers.wordpiece import CLS, SEP


def read_pairs(path, source_column=0, target_column=1, source_field="source", target_field="target",
               references=False):
    """Read ``(sources, targets)`` lists from a tab-separated or JSON Lines pairs file.

    Args:
        path: the file; ``.jsonl`` / ``.ndjson`` is JSON Lines, anything else TSV.
        source_column, target_column: TSV: 0-based column indices (they must differ).
        source_field, target_field: JSON Lines: the keys of source and target.
        references: return each target as a list of its references (for scoring). Without it a
            source with several references gives one pair per reference (for training).

    Raises:
        UserInputError: missing or empty file, a line without a tab, too few columns, a JSONL line
            that is not JSON or lacks a field, an empty source or target (each naming the line), or
            fewer than 2 pairs.

    Example:
        >>> sources, targets = read_pairs("data/spa_eng/spa.txt")   # English<TAB>Spanish
        >>> sources, references = read_pairs("data/scitldr/test.jsonl", references=True)
    """
    path = os.fspath(path)
    if is_jsonl(path):
        sources, targets = read_jsonl_pairs(read_user_file(path, "pairs file"), path, source_field, target_field)
    else:
        sources, targets = _read_tsv_pairs(path, source_column, target_column)
        targets = [[target] for target in targets]
    if references:
        return sources, targets
    pairs = [(source, target) for source, several in zip(sources, targets) for target in several]
    return [source for source, _ in pairs], [target for _, target in pairs]


def _read_tsv_pairs(path, source_column, target_column):
    for name, value in (("source_column", source_column), ("target_column", target_column)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise UserInputError(f"{name} must be a column index >= 0; got {value!r}")
    if source_column == target_column:
        raise UserInputError(f"source_column and target_column must differ; both are {source_column}")
    text = read_user_file(path, "pairs file")
    sources, targets = [], []
    needed = max(source_column, target_column) + 1
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if "\t" not in line:
            raise UserInputError(f"{path}, line {number}: no tab; expected source<TAB>target")
        fields = line.split("\t")
        if len(fields) < needed:
            raise UserInputError(f"{path}, line {number}: {len(fields)} columns, but column {needed - 1} is needed")
        source, target = fields[source_column].strip(), fields[target_column].strip()
        if not source or not target:
            side = "source" if not source else "target"
            raise UserInputError(f"{path}, line {number}: empty {side} text")
        sources.append(source)
        targets.append(target)
    if not sources:
        raise UserInputError(f"{path} has no sentence pairs (empty file)")
    if len(sources) < 2:
        raise UserInputError(f"{path} has {len(sources)} sentence pair; at least 2 are needed")
    return sources, targets


def reference_streams(references):
    """sacrebleu's reference streams of ``references`` (each a str or a list of str): stream ``k``
    holds every sentence's ``k``-th reference, None where a sentence has fewer (sacrebleu skips those).

    Example:
        >>> reference_streams([["a", "b"], "c"])
        [['a', 'c'], ['b', None]]
    """
    several = [[item] if isinstance(item, str) else list(item) for item in references]
    width = max((len(item) for item in several), default=1)
    return [[item[k] if k < len(item) else None for item in several] for k in range(width)]


def train_pair_tokenizers(sources, targets, source_vocabulary_size, target_vocabulary_size, lowercase=True):
    """Learn one WordPiece vocabulary per side (accents are kept: they matter in a translation).

    Returns:
        ``(source_tokenizer, target_tokenizer)``, two :class:`~keras_llm.tokenizers.WordPieceTokenizer`.
    """
    make = WordPieceTokenizer.train
    return (make(sources, source_vocabulary_size, lowercase=lowercase, strip_accents=False),
            make(targets, target_vocabulary_size, lowercase=lowercase, strip_accents=False))


def start_end_ids(target_tokenizer):
    """``(start_id, end_id)`` of a target tokenizer: its ``[CLS]`` and ``[SEP]`` ids."""
    vocabulary = target_tokenizer.vocabulary
    missing = [token for token in (CLS, SEP) if token not in vocabulary]
    if missing or vocabulary[0] != "[PAD]":
        raise UserInputError(f"a target tokenizer needs [PAD] at id 0 and {CLS}/{SEP} tokens (start/end); "
                             f"this one lacks {missing or ['[PAD] at id 0']}")
    return vocabulary.index(CLS), vocabulary.index(SEP)


def token_lengths(tokenizer, texts, batch_size=4096):
    """int ``(len(texts),)`` numbers of tokens (batched, so a large corpus stays cheap)."""
    lengths = [tokenizer.tokenize(tf.constant(texts[i:i + batch_size])).row_lengths().numpy()
               for i in range(0, len(texts), batch_size)]
    return np.concatenate(lengths) if lengths else np.zeros((0,), np.int64)


def filter_by_length(sources, targets, source_tokenizer, target_tokenizer, max_source_length, max_target_length):
    """Drop pairs whose source has more than ``max_source_length`` tokens, or whose target
    has more than ``max_target_length - 1`` (the decoder reads ``[CLS]`` + target).

    Returns:
        ``(sources, targets, dropped)``, ``dropped`` being the number of pairs removed.
    """
    keep = ((token_lengths(source_tokenizer, sources) <= max_source_length)
            & (token_lengths(target_tokenizer, targets) <= max_target_length - 1))
    kept = np.flatnonzero(keep)
    return [sources[i] for i in kept], [targets[i] for i in kept], int(len(sources) - len(kept))


def fitting_pairs(sources, targets, source_tokenizer, target_tokenizer, max_source_length, max_target_length,
                  long_sources="drop"):
    """Which pairs fit the model: targets longer than ``max_target_length - 1`` tokens are dropped;
    sources longer than ``max_source_length`` are dropped (``long_sources="drop"``, the translator's
    choice: a cut sentence has a wrong translation) or kept and cut to the model
    (``"truncate"``, summarization's: the head of a document still has its summary).

    Returns:
        ``(kept, counts)``: int indices of the pairs kept, and ``counts = {"dropped", "truncated"}``:
        pairs removed, and kept sources whose tail the model will not read (:func:`pairs_dataset` cuts them).

    Example:
        >>> fitting_pairs(["a b c d"], ["x"], tok, tok, 2, 8, long_sources="truncate")
        (array([0]), {'dropped': 0, 'truncated': 1})
    """
    if long_sources not in ("drop", "truncate"):
        raise UserInputError(f"long_sources must be 'drop' or 'truncate'; got {long_sources!r}")
    source_long = token_lengths(source_tokenizer, sources) > max_source_length
    keep = token_lengths(target_tokenizer, targets) <= max_target_length - 1
    if long_sources == "drop":
        keep &= ~source_long
    kept = np.flatnonzero(keep)
    return kept, {"dropped": int(len(sources) - len(kept)), "truncated": int((source_long & keep).sum())}


def pairs_dataset(sources, targets, source_tokenizer, target_tokenizer, batch_size, max_source_length,
                  max_target_length, shuffle=True, seed=0, repeat=False, pad_to_max_length=False):
    """Teacher-forcing batches: ``({"encoder_token_ids", "decoder_token_ids"}, target_ids)``.

    The decoder reads ``[CLS] y`` and must predict ``y [SEP]``; every tensor is int32, padded
    with 0 to the longest row of its batch (to the maximum lengths with ``pad_to_max_length``: fixed
    shapes, which XLA wants) and cut to ``max_source_length`` / ``max_target_length``. Labels are 0
    on padding, which the translator's loss and accuracy ignore.

    Returns:
        ``tf.data.Dataset`` of ``(inputs, labels)``: ``inputs["encoder_token_ids"]`` ``(batch, ≤ src)``,
        ``inputs["decoder_token_ids"]`` and ``labels`` ``(batch, ≤ tgt)``.

    Example:
        >>> ds = pairs_dataset(["hi ."], ["hola ."], src_tok, tgt_tok, 32, 20, 20)
    """
    start, end = start_end_ids(target_tokenizer)
    if shuffle:
        data = _shuffled_passes(list(sources), list(targets), seed, repeat)
    else:
        data = tf.data.Dataset.from_tensor_slices((list(sources), list(targets)))
        data = data.repeat() if repeat else data

    def encode(source_text, target_text):
        source = source_tokenizer.tokenize(source_text)[:, :max_source_length]
        target = target_tokenizer.tokenize(target_text)[:, :max_target_length - 1]
        rows = target.nrows()
        decoder = tf.concat([tf.fill([rows, 1], start), target], axis=1)
        labels = tf.concat([target, tf.fill([rows, 1], end)], axis=1)
        source_shape = [None, max_source_length] if pad_to_max_length else None
        target_shape = [None, max_target_length] if pad_to_max_length else None
        return ({"encoder_token_ids": source.to_tensor(0, shape=source_shape),
                 "decoder_token_ids": decoder.to_tensor(0, shape=target_shape)},
                labels.to_tensor(0, shape=target_shape))

    return data.batch(batch_size).map(encode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _shuffled_passes(sources, targets, seed, repeat):
    """Pass ``p`` over the pairs in the order ``stateless_shuffle(seed=(seed, p))``, endlessly with ``repeat``.

    ``Dataset.shuffle(reshuffle_each_iteration=True)`` draws each pass's order from a generator kept
    on the dataset object, which every new iterator (Keras makes more than one) advances: a resumed
    run, skipping the batches it finished, would then see other batches than an uninterrupted one.
    Here the order is a function of the pass number only.
    """
    texts = tf.constant(sources, tf.string), tf.constant(targets, tf.string)
    indices = tf.range(len(sources), dtype=tf.int64)
    passes = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(1)
    order = passes.flat_map(lambda number: tf.data.Dataset.from_tensor_slices(tf.random.experimental.stateless_shuffle(
        indices, seed=tf.stack([tf.constant(seed, tf.int64), number]))))
    return order.map(lambda index: (tf.gather(texts[0], index), tf.gather(texts[1], index)))
