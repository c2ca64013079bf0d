"""Word → WordPiece alignment for token classification, as TensorFlow ops (tf.data and SavedModels).

Each word is cut into word pieces on its own (BERT normalisation, so a word such as
``"U.S."`` may become several pieces); a word that normalises to nothing (only control
characters) becomes one ``[UNK]``. The sequence is ``[CLS] pieces… [SEP]`` padded to
``max_length``. **The first piece of each word carries the word's label; every other piece,
``[CLS]``, ``[SEP]`` and padding carry** :data:`IGNORE_LABEL` (-100), which the loss and the
metrics skip. Words whose first piece does not fit into ``max_length - 2`` pieces are
truncated: they get no position and no prediction (``word_mask`` is 0 for them).

``split_text_into_words`` is the word-splitting rule used at serving time (the export and
``keras-llm tag``): runs of whitespace separate words, and every punctuation character
(ASCII 33-47, 58-64, 91-96, 123-126 and Unicode "P*", BERT's set) is a word of its own.
NUL separates words like whitespace (tf-text's ``regex_split`` stops reading a text at a NUL,
which dropped every word after it; the WordPiece normaliser deletes NUL anyway).
"""

import tensorflow as tf
import tensorflow_text as tf_text

from keras_llm.tokenizers.base import fill_empty_rows

IGNORE_LABEL = -100
# The serving rule's word boundaries, as RE2 patterns (also used by keras_llm.data.qa_windows).
PUNCTUATION_PATTERN = _PUNCTUATION = r"[!-/:-@\[-`{-~\p{P}]"
WHITESPACE_PATTERN = _WHITESPACE = r"[\s\p{Z}]+"


def split_text_into_words(texts, max_words=None):
    """Raw texts → words (original spelling kept; invalid UTF-8 read as U+FFFD; NUL separates words).

    Args:
        texts: ``tf.string`` ``(batch,)``.
        max_words: keep at most this many words per text.

    Returns:
        Ragged ``tf.string`` ``(batch, None)``.

    Example:
        >>> split_text_into_words(tf.constant(["Hi, you!"])).to_list()
        [[b'Hi', b',', b'you', b'!']]
    """
    texts = tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)
    texts = tf.strings.regex_replace(texts, r"\x00", " ")  # regex_split would stop at a NUL
    words = tf_text.regex_split(texts, f"{_WHITESPACE}|{_PUNCTUATION}", _PUNCTUATION)
    return words if max_words is None else words[:, :max_words]


def word_pieces(tokenizer, words):
    """Word-piece ids of each word.

    Args:
        tokenizer: a :class:`~keras_llm.tokenizers.WordPieceTokenizer`.
        words: ragged ``tf.string`` ``(batch, words)``.

    Returns:
        ragged int32 ``(batch, words, pieces)``; every word has at least one piece.
    """
    # The tokenizer's text path (normalise, split at punctuation, WordPiece) without its
    # special-token matching: a word "[SEP]" in a sentence is text, not a separator.
    pieces = tokenizer.tokenize_plain_text(words.flat_values)  # (total_words, pieces)
    pieces = fill_empty_rows(pieces, tokenizer.unk_token_id)  # a word with no pieces reads as [UNK]
    return tf.RaggedTensor.from_row_splits(pieces, words.row_splits, validate=False)


def align_words(tokenizer, words, max_length, tag_ids=None):
    """Encode pre-split words for a token classifier, with first-piece labels.

    Args:
        tokenizer: a :class:`~keras_llm.tokenizers.WordPieceTokenizer`.
        words: ragged ``tf.string`` ``(batch, words)``.
        max_length: sequence length including ``[CLS]`` and ``[SEP]`` (≥ 3).
        tag_ids: optional ragged int ``(batch, words)``; -1 (unknown tag) is ignored like padding.

    Returns:
        dict: ``token_ids``, ``segment_ids``, ``padding_mask`` (int32 ``(batch, max_length)``),
        ``first_piece`` (ragged int32 ``(batch, words)``: the position of each word's first
        piece, 0 for truncated words), ``word_mask`` (ragged int32 ``(batch, words)``, 1 if the
        word fits) and, with ``tag_ids``, ``labels`` (int32 ``(batch, max_length)``, -100 where ignored).

    Example:
        >>> out = align_words(tok, tf.ragged.constant([["Unbelievable", "!"]]), 8, tf.ragged.constant([[3, 1]]))
        >>> out["labels"].numpy()   # [CLS] un ##bel ##ievable ! [SEP] pad pad
        array([[-100, 3, -100, -100, 1, -100, -100, -100]], dtype=int32)
    """
    budget = max_length - 2
    pieces = word_pieces(tokenizer, words)  # (batch, words, pieces)
    per_word = pieces.values  # (total_words, pieces)
    word_starts = per_word.row_splits[:-1]
    sentence_starts = tf.gather(per_word.row_splits, pieces.row_splits[:-1])
    local_start = word_starts - tf.gather(sentence_starts, pieces.value_rowids())
    fits = local_start < budget
    first_piece = tf.where(fits, local_start + 1, 0)  # +1 for [CLS]
    flat_pieces = pieces.merge_dims(1, 2)[:, :budget]
    ids, padding_mask = tf_text.pad_model_inputs(
        tf_text.combine_segments([flat_pieces], tokenizer.cls_token_id, tokenizer.sep_token_id)[0], max_length)
    out = {
        "token_ids": tf.cast(ids, tf.int32),
        "segment_ids": tf.zeros_like(ids, tf.int32),
        "padding_mask": tf.cast(padding_mask, tf.int32),
        "first_piece": words.with_flat_values(tf.cast(first_piece, tf.int32)),
        "word_mask": words.with_flat_values(tf.cast(fits, tf.int32)),
    }
    if tag_ids is not None:
        tags = tf.cast(tag_ids.flat_values, tf.int32)
        tags = tf.where(tags < 0, IGNORE_LABEL, tags)
        is_first = tf.ragged.range(per_word.row_lengths()).flat_values == 0
        piece_tags = tf.where(is_first, tf.gather(tags, per_word.value_rowids()), IGNORE_LABEL)
        piece_labels = tf.RaggedTensor.from_row_splits(
            piece_tags, tf.gather(per_word.row_splits, pieces.row_splits), validate=False)[:, :budget]
        edge = tf.fill([piece_labels.nrows(), 1], IGNORE_LABEL)
        labels = tf.concat([edge, piece_labels, edge], axis=1)
        out["labels"] = tf_text.pad_model_inputs(labels, max_length, pad_value=IGNORE_LABEL)[0]
    return out
