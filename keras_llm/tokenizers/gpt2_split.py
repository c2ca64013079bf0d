"""GPT-2's pre-tokenisation regex, reproduced exactly with TensorFlow ops.

GPT-2 (and Hugging Face's byte-level ``tokenizers``) cut text into pieces with

    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

RE2, TensorFlow's regex engine, has no look-ahead and its ``\\s`` is ASCII only, so the
pattern cannot be run as is (keras-hub's rewrite of it differs from Hugging Face around
Unicode spaces, NUL and contractions). This module computes the same pieces from
where each piece starts, which only depends on a character and its neighbours:

* every character is a letter (``\\p{L}``), a number (``\\p{N}``), white space (Unicode
  White_Space, as Hugging Face's regex engine reads ``\\s``) or other;
* a plain space right before a non-space belongs to the piece after it (`` ?``);
* a run of white space followed by a non-space leaves its last character to start a
  piece of its own (``\\s+(?!\\S)``); at the end of the text the run is one piece;
* a run of letters, numbers or others starts a piece where the kind changes;
* an apostrophe that starts a piece and is followed by ``s t m d re ve ll`` (lower
  case only, as in GPT-2) is a contraction piece; the letters after it start anew.
"""

import tensorflow as tf

# Unicode White_Space: what \s matches in Hugging Face's (Oniguruma) regex engine.
WHITE_SPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
               "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_LETTER, _NUMBER, _SPACE, _OTHER = 0, 1, 2, 3
_SHORT_CONTRACTIONS = ("s", "t", "m", "d")  # 's 't 'm 'd
_LONG_CONTRACTIONS = ("re", "ve", "ll")     # 're 've 'll
# Letters and numbers of Unicode 16.0, which TensorFlow's RE2 tables predate but Hugging Face's
# tokenizers (0.23) know: without them such characters would be "other". Found by comparing the
# kind of every code point with Hugging Face's pre-tokenizer (tests/tokenizers/test_gpt2_split.py).
_NEW_LETTERS = (
    (0x1C89, 0x1C8A), (0xA7CB, 0xA7CD), (0xA7DA, 0xA7DC), (0x105C0, 0x105F3), (0x10D4A, 0x10D65),
    (0x10D6F, 0x10D85), (0x10EC2, 0x10EC4), (0x11380, 0x11389), (0x1138B, 0x1138B), (0x1138E, 0x1138E),
    (0x11390, 0x113B5), (0x113B7, 0x113B7), (0x113D1, 0x113D1), (0x113D3, 0x113D3), (0x11BC0, 0x11BE0),
    (0x13460, 0x143FA), (0x16100, 0x1611D), (0x16D40, 0x16D6C), (0x18CFF, 0x18CFF), (0x1E5D0, 0x1E5ED),
    (0x1E5F0, 0x1E5F0), (0x2EBF0, 0x2EE5D),
)
_NEW_NUMBERS = (
    (0x10D40, 0x10D49), (0x116D0, 0x116E3), (0x11BF0, 0x11BF9), (0x16130, 0x16139), (0x16D70, 0x16D79),
    (0x1CCF0, 0x1CCF9), (0x1E5F1, 0x1E5FA),
)


def _char_class(property_name, extra_ranges):
    extra = "".join(f"\\x{{{low:X}}}-\\x{{{high:X}}}" for low, high in extra_ranges)
    return f"[\\p{{{property_name}}}{extra}]"


_LETTER_CLASS = _char_class("L", _NEW_LETTERS)
_NUMBER_CLASS = _char_class("N", _NEW_NUMBERS)


def _kinds(chars):
    """Kind (letter, number, white space, other) of each character, int32 like ``chars``."""
    letter = tf.strings.regex_full_match(chars, _LETTER_CLASS)
    number = tf.strings.regex_full_match(chars, _NUMBER_CLASS)
    space = tf.reduce_any(tf.equal(chars[:, tf.newaxis], tf.constant(list(WHITE_SPACE))), axis=1)
    return tf.where(letter, _LETTER, tf.where(number, _NUMBER, tf.where(space, _SPACE, _OTHER)))


def _shift(values, same_row, offset, fill):
    """``values[i + offset]`` where that character is in the same text, else ``fill`` (flat 1-D)."""
    n = tf.size(values)
    index = tf.range(n) + offset
    inside = (index >= 0) & (index < n)
    picked = tf.gather(values, tf.clip_by_value(index, 0, tf.maximum(n - 1, 0)))
    return tf.where(inside & same_row(offset), picked, fill)


def _piece_starts(chars, row_ids):
    """True where a GPT-2 piece starts; ``chars`` flat ``tf.string`` (one character each)."""
    n = tf.size(chars)
    rows = tf.range(n)

    def same_row(offset):
        other = tf.clip_by_value(rows + offset, 0, tf.maximum(n - 1, 0))
        return tf.equal(tf.gather(row_ids, other), row_ids) & (rows + offset >= 0) & (rows + offset < n)

    kind = _kinds(chars)
    is_blank = tf.equal(chars, " ")
    previous_kind = _shift(kind, same_row, -1, -1)  # -1: no character (start of the text)
    next_kind = _shift(kind, same_row, 1, -1)
    white = tf.equal(kind, _SPACE)
    followed_by_text = (next_kind >= 0) & tf.not_equal(next_kind, _SPACE)
    # A plain space before a non-space starts that piece: " word", " 42", " !".
    attached_space = is_blank & followed_by_text
    previous_attached = _shift(attached_space, same_row, -1, False)
    starts_white = white & (tf.not_equal(previous_kind, _SPACE) | followed_by_text)
    starts_text = ~white & tf.not_equal(kind, previous_kind) & ~previous_attached
    starts = starts_white | starts_text

    # Contractions: an apostrophe that starts a piece, then s/t/m/d or re/ve/ll.
    next_char = _shift(chars, same_row, 1, "")
    after_next = _shift(chars, same_row, 2, "")
    apostrophe = tf.equal(chars, "'") & starts
    short = apostrophe & _is_any(next_char, _SHORT_CONTRACTIONS)
    long = apostrophe & _is_any(tf.strings.join([next_char, after_next]), _LONG_CONTRACTIONS)
    # The letters after a contraction are a new piece ("'sup" → "'s", "up").
    inside = _shift(short | long, same_row, -1, False) | _shift(long, same_row, -2, False)
    restart = (_shift(short, same_row, -2, False) | _shift(long, same_row, -3, False)) & tf.equal(kind, _LETTER)
    return (starts & ~inside) | restart


def _is_any(strings, options):
    return tf.reduce_any(tf.equal(strings[:, tf.newaxis], tf.constant(list(options))), axis=1)


def gpt2_split(strings):
    """Cut texts into GPT-2's pre-tokenisation pieces (each later merged on its own).

    Invalid UTF-8 is first replaced by U+FFFD, as Python's ``bytes.decode("utf-8",
    "replace")`` does, since Hugging Face only tokenizes valid text.

    Args:
        strings: ``tf.string`` ``(batch,)``.

    Returns:
        ``tf.RaggedTensor`` of ``tf.string``, ``(batch, None)``: the pieces of each text, in
        order; joined they give back the (repaired) text.

    Example:
        >>> gpt2_split(tf.constant(["Hello world's  end\\n"])).to_list()
        [[b'Hello', b' world', b"'s", b' ', b' end', b'\\n']]
    """
    strings = tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace",
                                           replacement_char=0xFFFD, replace_control_characters=False)
    chars = tf.strings.unicode_split(strings, "UTF-8")
    flat = chars.flat_values
    row_ids = tf.cast(chars.value_rowids(), tf.int32)
    starts = _piece_starts(flat, row_ids)
    start_positions = tf.where(starts)[:, 0]
    pieces = tf.strings.reduce_join(tf.RaggedTensor.from_row_starts(flat, start_positions), axis=1)
    pieces_per_text = tf.math.unsorted_segment_sum(tf.cast(starts, tf.int64), row_ids,
                                                   tf.shape(strings, out_type=tf.int32)[0])
    return tf.RaggedTensor.from_row_lengths(pieces, pieces_per_text)
