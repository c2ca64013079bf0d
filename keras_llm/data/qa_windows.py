"""Question + context → BERT inputs for a span reader: ``[CLS] question [SEP] context window [SEP]``.

One function, :func:`encode_qa_windows`, in TensorFlow ops, serves training (labels are computed
from its output), the library's ``answer_questions`` and the exported SavedModel, so all three see
the same pieces and the same character offsets.

- **Words and their characters.** The context is split into words by the serving rule of the
  taggers (runs of whitespace separate words, every punctuation character is a word of its own;
  :func:`keras_llm.data.token_alignment.split_text_into_words`), keeping each word's character
  span. Every word piece of a word carries that word's span, so an answer starts at the start of
  a word and ends at the end of one (``"1990"`` inside ``"1990s"`` reads as ``"1990s"``; a
  hyphen, comma or bracket is a word of its own and never glued to an answer).
  Offsets count Unicode code points (Python ``str`` indices) of the text after invalid UTF-8
  became U+FFFD (for valid UTF-8 text: the text as given).
- **Windows.** The question keeps at most ``max_question_length`` pieces; a context longer than
  the rest of the sequence (``max_length - 3 - question pieces``) is read as overlapping windows
  whose starts are ``stride`` pieces apart (BERT's ``doc_stride``), the last one ending at the
  context's end or earlier; a context that fits is one window.

Example:
    >>> encoded = encode_qa_windows(tokenizer, ["Who came?"], ["Ann came home."], max_length=32, stride=8)
    >>> encoded["inputs"]["token_ids"].shape, encoded["example"].numpy()
    (TensorShape([1, 32]), array([0], dtype=int32))
"""

import tensorflow as tf
import tensorflow_text as tf_text

from keras_llm.data.token_alignment import PUNCTUATION_PATTERN, WHITESPACE_PATTERN, word_pieces
from keras_llm.errors import UserInputError


def clean_context(texts):
    """The text offsets refer to: invalid UTF-8 as U+FFFD, NUL as a space (``regex_split`` stops at NUL)."""
    texts = tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)
    return tf.strings.regex_replace(texts, r"\x00", " ")


def context_pieces(tokenizer, texts):
    """Word pieces of cleaned contexts with each piece's character span (its word's).

    Args:
        tokenizer: a :class:`~keras_llm.tokenizers.WordPieceTokenizer`.
        texts: ``tf.string`` ``(batch,)`` from :func:`clean_context`.

    Returns:
        ``(pieces, begin, end)``: ragged int32 ``(batch, pieces)`` ids and ragged int64 character
        offsets of the same shape (``text[begin:end]`` is the piece's word).
    """
    words, byte_begin, byte_end = tf_text.regex_split_with_offsets(
        texts, f"{WHITESPACE_PATTERN}|{PUNCTUATION_PATTERN}", PUNCTUATION_PATTERN)
    word_text = tf.gather(texts, words.value_rowids())
    prefix = tf.strings.substr(word_text, tf.zeros_like(byte_begin.flat_values), byte_begin.flat_values)
    char_begin = tf.strings.length(prefix, unit="UTF8_CHAR")  # code points before the word
    char_end = char_begin + tf.strings.length(words.flat_values, unit="UTF8_CHAR")
    pieces = word_pieces(tokenizer, words)  # (batch, words, pieces)
    piece_word = pieces.values.value_rowids()  # the flat word index of every piece
    flat = pieces.merge_dims(1, 2)
    span = lambda per_word: flat.with_flat_values(tf.cast(tf.gather(per_word, piece_word), tf.int64))  # noqa: E731
    return flat, span(char_begin), span(char_end)


def check_window_settings(max_length, stride, max_question_length):
    """Refuse settings that leave a window no room: one line naming the setting."""
    if max_question_length < 1 or stride < 1:
        raise UserInputError(f"max_question_length and stride must be positive; got {max_question_length}, {stride}")
    if max_length - 3 - max_question_length < 1:
        raise UserInputError(f"max_length {max_length} leaves no context piece after a question of "
                             f"{max_question_length} pieces and [CLS] [SEP] [SEP]; raise max_length or lower "
                             f"max_question_length")


def encode_qa_windows(tokenizer, questions, contexts, max_length, stride, max_question_length=64):
    """Encode question/context pairs as windows over the context (see the module docstring).

    Args:
        tokenizer: a :class:`~keras_llm.tokenizers.WordPieceTokenizer`.
        questions, contexts: ``tf.string`` ``(batch,)`` (or lists of str).
        max_length: sequence length with ``[CLS]`` and two ``[SEP]`` (Python int).
        stride: context pieces between the starts of two windows.
        max_question_length: question pieces kept (the rest is cut).

    Returns:
        dict: ``inputs`` (``token_ids``, ``segment_ids``, ``padding_mask``: int32 ``(windows, max_length)``),
        ``example`` (int32 ``(windows,)``, the pair each window reads), ``context_offset`` (int32
        ``(windows,)``, the position of the window's first context piece), ``window_length`` (int32, its
        context pieces), ``first_piece`` (int64, the flat index of its first context piece in
        ``begin``/``end``), ``window_start`` (int64, that piece's index within its own context),
        ``begin``/``end`` (ragged int64 ``(batch, pieces)``, character spans of all context pieces) and
        ``texts`` (the cleaned contexts the offsets count in).
    """
    check_window_settings(max_length, stride, max_question_length)
    texts = clean_context(tf.convert_to_tensor(contexts, tf.string))
    question = tokenizer.tokenize_plain_text(tf.convert_to_tensor(questions, tf.string))[:, :max_question_length]
    pieces, begin, end = context_pieces(tokenizer, texts)
    question_length, context_length = question.row_lengths(), pieces.row_lengths()
    width = max_length - 3 - question_length
    step = tf.minimum(tf.constant(stride, tf.int64), width)
    count = 1 + tf.maximum(tf.constant(0, tf.int64), -((width - context_length) // step))  # ceil((len - w) / step)
    example = tf.repeat(tf.range(tf.size(count, out_type=tf.int64)), count)
    start = tf.ragged.range(count).flat_values * tf.gather(step, example)
    length = tf.minimum(tf.gather(width, example), tf.gather(context_length, example) - start)
    first_piece = tf.gather(pieces.row_starts(), example) + start
    window = tf.gather(pieces.flat_values, tf.ragged.range(first_piece, first_piece + length))
    ids, segments = tf_text.combine_segments([tf.gather(question, example), window],
                                             tokenizer.cls_token_id, tokenizer.sep_token_id)
    ids, mask = tf_text.pad_model_inputs(ids, max_length, pad_value=tokenizer.pad_token_id)
    segments, _ = tf_text.pad_model_inputs(segments, max_length)
    int32 = lambda x: tf.cast(x, tf.int32)  # noqa: E731
    return {
        "inputs": {"token_ids": int32(ids), "segment_ids": int32(segments), "padding_mask": int32(mask)},
        "example": int32(example), "context_offset": int32(tf.gather(question_length, example) + 2),
        "window_length": int32(length), "first_piece": first_piece, "window_start": start,
        "begin": begin, "end": end, "texts": texts,
    }
