"""WordPiece (BERT) tokenizer in TensorFlow ops, id-for-id equal to Hugging Face's BertTokenizer.

The reference is ``transformers.BertTokenizer`` (5.x, backed by the Rust `tokenizers`
``BertNormalizer`` + ``BertPreTokenizer`` + ``WordPiece``). Every step is a TF op, so the
tokenizer runs in ``tf.function``, ``tf.data`` and exported SavedModels:

1. special tokens written literally in the text (``"[SEP]"``) are cut out first and map
   to their ids, as Hugging Face matches its added tokens on the raw text;
2. invalid UTF-8 becomes U+FFFD; NUL, U+FFFD and every Unicode "C*" character except
   ``\\t \\n \\r`` are removed; whitespace (``\\t \\n \\r`` and "Z*") becomes a space;
3. spaces go around CJK ideographs (not Hangul or kana);
4. with accent stripping: NFD, then "Mn" marks are removed; with lowercasing: Unicode
   lowercase, character by character (so "Σ" is always "σ", never the final "ς");
5. split at spaces and around punctuation (ASCII 33-47, 58-64, 91-96, 123-126, "P*");
6. WordPiece: greedy longest match with ``##`` continuations; a word with no full match
   or longer than 100 characters is one ``[UNK]``.
"""

import os
import re

import tensorflow as tf
import tensorflow_text as tf_text

from keras_llm.errors import UserInputError
from keras_llm.tokenizers.base import Tokenizer

VOCAB_FILENAME = "vocab.txt"
PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)
SUFFIX = "##"
MAX_CHARS_PER_WORD = 100  # Hugging Face's max_input_chars_per_word (characters, not bytes)

# The CJK Unified Ideographs blocks, extensions and compatibility blocks BERT spaces out.
_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
CJK_CLASS = "[" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in _CJK_RANGES) + "]"
_REMOVED = r"[\x00\x{FFFD}]|[^\t\n\r\P{C}]"
_WHITESPACE = r"[\t\n\r\p{Z}]"
PUNCTUATION_CLASS = r"[!-/:-@\[-`{-~\p{P}]"


def normalize(strings, lowercase=True, strip_accents=None):
    """BERT's text normalization (steps 2-4 of the module docstring) as TF ops.

    Args:
        strings: ``tf.string`` tensor of any shape.
        lowercase: lowercase the text.
        strip_accents: NFD and drop "Mn" marks; None follows ``lowercase``.

    Returns:
        ``tf.string`` of the same shape.
    """
    strip_accents = lowercase if strip_accents is None else strip_accents
    text = tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace",
                                        replacement_char=0xFFFD)
    text = tf.strings.regex_replace(text, _REMOVED, "")
    text = tf.strings.regex_replace(text, _WHITESPACE, " ")
    text = tf.strings.regex_replace(text, f"({CJK_CLASS})", r" \1 ")
    if strip_accents:
        text = tf_text.normalize_utf8(text, "NFD")
        text = tf.strings.regex_replace(text, r"\p{Mn}", "")
    if lowercase:
        # ICU lowercases a word-final capital sigma to "ς"; Hugging Face maps each
        # character on its own, which always gives "σ".
        text = tf.strings.regex_replace(text, "\u03a3", "\u03c3")
        text = tf.strings.lower(text, encoding="utf-8")
    return text


def split_words(strings, lowercase=True, strip_accents=None):
    """Normalize and split into words and single punctuation characters.

    Args:
        strings: ``tf.string`` ``(batch,)``.

    Returns:
        Ragged ``tf.string`` ``(batch, None)``.
    """
    text = normalize(strings, lowercase, strip_accents)
    return tf_text.regex_split(text, f" +|{PUNCTUATION_CLASS}", PUNCTUATION_CLASS)


class WordPieceTokenizer(Tokenizer):
    """BERT's WordPiece tokenizer as TensorFlow ops; the ids equal Hugging Face's.

    ``tokenize`` gives the word-piece ids of each text (no special tokens);
    ``encode_batch`` adds ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]``, truncates like
    Hugging Face (``longest_first`` for pairs) and pads to a fixed length, ready for
    a BERT model. See the module docstring for the normalization rules.

    Known differences from Hugging Face (none occur in the MiniLM fixtures). A sweep of
    every code point (``"A{c}b {c}{c}"`` through both normalizers and pre-tokenizers,
    transformers 5.24 / tokenizers vs TF 2.21) differs on 940 of 1,112,064 code points
    uncased and 405 cased, all rare: Hugging Face's category tables (control, "Mn",
    punctuation) predate characters added in about Unicode 10 and later (e.g. U+2E43-2E5D
    punctuation, new Arabic and Brahmic marks, U+0890 format characters), which it keeps
    inside words while TensorFlow's RE2 removes, strips or splits them; a few characters
    whose category changed (U+166D, U+1734); the case mappings of letters added recently
    (Vithkuqi, Latin Extended-D, U+2C2F), where TensorFlow's ICU lowercases less.
    Unassigned code points are kept by both. The old pure-Python BertTokenizer of
    transformers 4 also NFC-normalised the text, which only matters for cased
    vocabularies without accent stripping (``"e\\u0301"`` here stays two characters, as
    in transformers 5).

    Args:
        vocabulary: list of str, the token of each id (``vocab.txt`` order); must
            contain ``[UNK]``. If a token repeats, its last id wins (as in Hugging Face).
        lowercase: lowercase the text (uncased models).
        strip_accents: remove accents; None (default) follows ``lowercase``.
        max_length: default sequence length of ``encode_batch`` (with special tokens).
        name: ``tf.Module`` name.

    Example:
        >>> tok = WordPieceTokenizer.from_vocab_file("vocab.txt")
        >>> tok.tokenize(["Héllo, wörld!"]).to_list()
        [[7592, 1010, 2088, 999]]
        >>> tok.encode_batch(["Héllo"], max_length=4)["token_ids"].numpy()
        array([[ 101, 7592,  102,    0]], dtype=int32)
    """

    def __init__(self, vocabulary, lowercase=True, strip_accents=None, max_length=512,
                 name=None):
        vocabulary = [str(token) for token in vocabulary]
        if not vocabulary:
            raise UserInputError("WordPieceTokenizer needs a non-empty vocabulary")
        if UNK not in vocabulary:
            raise UserInputError(f"WordPieceTokenizer vocabulary has no {UNK} token")
        bad = [t for t in vocabulary if "\n" in t or "\r" in t]
        if bad:
            raise UserInputError(f"vocabulary tokens must not contain line breaks; got {bad[:3]}")
        if int(max_length) < 2:
            raise UserInputError(f"max_length must be at least 2; got {max_length}")
        super().__init__([token.encode("utf-8") for token in vocabulary], name=name)
        self._vocabulary = tuple(vocabulary)
        self.lowercase = bool(lowercase)
        self.strip_accents = None if strip_accents is None else bool(strip_accents)
        self.max_length = int(max_length)
        self._ids = {token: i for i, token in enumerate(vocabulary)}  # last duplicate wins
        self._token_to_id = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(self._ids), tf.string),
                tf.constant(list(self._ids.values()), tf.int64)),
            default_value=-1)
        # A word of 100 characters has at most 400 bytes; longer words are replaced
        # by [UNK] before this op sees them, because its own limit counts bytes.
        self._wordpiece = tf_text.WordpieceTokenizer(
            self._token_to_id, suffix_indicator=SUFFIX,
            max_bytes_per_word=4 * MAX_CHARS_PER_WORD, token_out_type=tf.int64,
            unknown_token=UNK)
        specials = sorted((t for t in SPECIAL_TOKENS if t in self._ids), key=len, reverse=True)
        self._special_pattern = "(" + "|".join(re.escape(t) for t in specials) + ")"
        self._special_to_id = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(specials, tf.string),
                tf.constant([self._ids[t] for t in specials], tf.int32)),
            default_value=-1)

    @classmethod
    def from_vocab_file(cls, path, lowercase=True, strip_accents=None, max_length=512):
        """Build from a BERT ``vocab.txt`` (one token per line, line i = id i)."""
        if not os.path.isfile(path):
            raise UserInputError(f"vocabulary file not found: {path!r}")
        return cls(read_vocab_file(path), lowercase=lowercase, strip_accents=strip_accents,
                   max_length=max_length)

    @classmethod
    def train(cls, texts_or_file, vocab_size, lowercase=True, strip_accents=None,
              max_length=512):
        """Learn a WordPiece vocabulary (keras-hub's trainer) on our own word splitting.

        Args:
            texts_or_file: a list of str, or the path of a UTF-8 text file.
            vocab_size: wanted vocabulary size including the special tokens
                ``[PAD] [UNK] [CLS] [SEP] [MASK]`` (ids 0-4).
            lowercase, strip_accents, max_length: see the class docstring.

        Returns:
            A ``WordPieceTokenizer``.
        """
        import keras_hub  # heavy import, only needed for training

        if isinstance(texts_or_file, (str, os.PathLike)):
            if not os.path.isfile(texts_or_file):
                raise UserInputError(f"corpus file not found: {texts_or_file!r}")
            with open(texts_or_file, encoding="utf-8", errors="replace") as f:
                texts = f.read().split("\n")
        else:
            texts = [str(t) for t in texts_or_file]
        if not any(t.strip() for t in texts):
            raise UserInputError("WordPieceTokenizer.train got an empty corpus")
        if int(vocab_size) <= len(SPECIAL_TOKENS):
            raise UserInputError(f"vocab_size must exceed {len(SPECIAL_TOKENS)}; got {vocab_size}")
        words = tf.data.Dataset.from_tensor_slices(texts).batch(1024).map(
            lambda batch: split_words(batch, lowercase, strip_accents).flat_values)
        vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
            words, int(vocab_size), split=False, reserved_tokens=list(SPECIAL_TOKENS))
        return cls(vocabulary, lowercase=lowercase, strip_accents=strip_accents,
                   max_length=max_length)

    @property
    def vocabulary(self):
        """list of str: the token of each id."""
        return list(self._vocabulary)

    def _special_id(self, token):
        return self._ids.get(token)

    @property
    def pad_token_id(self):
        return self._special_id(PAD)

    @property
    def unk_token_id(self):
        return self._special_id(UNK)

    @property
    def cls_token_id(self):
        return self._special_id(CLS)

    @property
    def sep_token_id(self):
        return self._special_id(SEP)

    @property
    def mask_token_id(self):
        return self._special_id(MASK)

    def _tokenize_batch(self, strings):
        # Cut the text around literal special tokens with one split at NUL: the text's
        # own NULs become U+FFFD first (normalization removes both alike).
        text = tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace",
                                            replacement_char=0xFFFD)
        text = tf.strings.regex_replace(text, "\x00", "\ufffd")
        text = tf.strings.regex_replace(text, self._special_pattern, "\x00\\1\x00")
        pieces = tf.strings.split(text, sep="\x00")  # (batch, pieces)
        special_ids = self._special_to_id.lookup(pieces.flat_values)
        special = special_ids >= 0
        # Special pieces tokenize to nothing, then get their id put in front.
        text_ids = self.tokenize_plain_text(tf.where(special, "", pieces.flat_values))
        ids = _put_in_front(text_ids, special_ids, special)  # (pieces, None)
        return tf.RaggedTensor.from_row_splits(
            ids, pieces.row_splits, validate=False).merge_dims(1, 2)

    def tokenize_plain_text(self, strings):
        """Word-piece ids of ``strings`` ``(batch,)`` → ragged ``(batch, pieces)``, with no special-token
        matching: a literal "[SEP]" in the text is split like any other text. (Taggers use it on single
        words, whose pieces they align to word labels.)"""
        words = split_words(strings, self.lowercase, self.strip_accents)
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > MAX_CHARS_PER_WORD
        words = words.with_flat_values(tf.where(too_long, UNK, words.flat_values))
        pieces = self._wordpiece.tokenize(words)  # (batch, words, pieces)
        return tf.cast(pieces.merge_dims(1, 2), tf.int32)

    def encode_batch(self, texts, texts_b=None, max_length=None):
        """Texts (or text pairs) → BERT inputs, as TF ops (works in tf.function, tf.data).

        Args:
            texts: ``tf.string`` ``(batch,)`` or a list of str.
            texts_b: optional second segments, same shape as ``texts``.
            max_length: Python int, the output length including special tokens;
                defaults to the tokenizer's ``max_length``. Longer inputs are truncated
                like Hugging Face (pairs: ``longest_first``).

        Returns:
            dict of int32 ``(batch, max_length)`` tensors: ``token_ids`` (``[PAD]``-padded),
            ``segment_ids`` (0 for ``[CLS] a [SEP]``, 1 for ``b [SEP]``, 0 in padding) and
            ``padding_mask`` (1 for real tokens).
        """
        max_length = self.max_length if max_length is None else int(max_length)
        missing = [t for t in (CLS, SEP, PAD) if t not in self._ids]
        if missing:
            raise UserInputError(f"encode_batch needs {missing} in the vocabulary")
        pair = texts_b is not None
        budget = max_length - (3 if pair else 2)
        if budget < 0:
            raise UserInputError(f"max_length {max_length} leaves no room for the special tokens")
        a = self.tokenize(texts)
        if a.shape.rank != 2:
            raise UserInputError("encode_batch expects texts of shape (batch,)")
        segments = [a]
        if pair:
            segments.append(self.tokenize(texts_b))
        segments = _truncate(segments, budget)
        batch = a.nrows()
        cls = tf.fill([batch, 1], tf.constant(self.cls_token_id, tf.int32))
        sep = tf.fill([batch, 1], tf.constant(self.sep_token_id, tf.int32))
        pieces, kinds = [cls], [tf.zeros_like(cls)]
        for kind, segment in enumerate(segments):
            pieces += [segment, sep]
            kinds += [tf.zeros_like(segment) + kind, tf.zeros_like(sep) + kind]
        ids = tf.concat(pieces, axis=1)
        segment_ids = tf.concat(kinds, axis=1)
        shape = [None, max_length]
        return {
            "token_ids": ids.to_tensor(self.pad_token_id, shape=shape),
            "segment_ids": segment_ids.to_tensor(0, shape=shape),
            "padding_mask": tf.ones_like(ids).to_tensor(0, shape=shape),
        }

    def detokenize(self, ids):
        """Token ids → text: ``##`` pieces joined, words spaced, CJK characters unspaced.

        ``[CLS]``, ``[SEP]``, ``[PAD]`` and ids outside ``[0, vocab_size)`` are dropped;
        the text is the normalized one (lowercased, without accents for uncased
        vocabularies) with single spaces around punctuation.

        Args:
            ids: int ``(batch, len)`` dense or ragged tensor, nested lists, or one
                sequence ``(len,)``.

        Returns:
            ``tf.string`` ``(batch,)`` (a scalar for a single sequence).
        """
        ids, single = self._id_batch(ids)
        keep = (ids >= 0) & (ids < self.vocab_size)
        for token in (CLS, SEP, PAD):
            if token in self._ids:
                keep &= ids != self._ids[token]
        tokens = self._id_to_bytes.lookup(tf.ragged.boolean_mask(ids, keep))
        flat = tokens.flat_values
        continuation = tf.strings.substr(flat, 0, len(SUFFIX)) == SUFFIX
        flat = tf.where(continuation, tf.strings.regex_replace(flat, "^##", ""), flat)
        cjk = tf.strings.regex_full_match(flat, CJK_CLASS)
        after_cjk = tf.concat([[False], cjk[:-1]], axis=0)
        glued = continuation | (cjk & after_cjk)
        flat = tf.where(glued, flat, tf.strings.join([" ", flat]))
        text = tf.strings.regex_replace(tf.strings.reduce_join(tokens.with_flat_values(flat), axis=-1), "^ ", "")
        return text[0] if single else text

    def get_config(self):
        """JSON-able config; with ``vocab.txt`` it rebuilds the tokenizer."""
        return {"lowercase": self.lowercase, "strip_accents": self.strip_accents,
                "max_length": self.max_length}

    def _save_assets(self, directory):
        with open(os.path.join(directory, VOCAB_FILENAME), "w", encoding="utf-8",
                  newline="\n") as f:
            f.write("".join(token + "\n" for token in self._vocabulary))

    @classmethod
    def _from_directory(cls, directory, config):
        return cls(read_vocab_file(os.path.join(directory, VOCAB_FILENAME)), **config)


def read_vocab_file(path):
    """The tokens of a ``vocab.txt``: one per line, trailing whitespace removed."""
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip() for line in lines]


def _truncate(segments, budget):
    """Hugging Face truncation of one or two ragged segments to ``budget`` ids in all."""
    if len(segments) == 1:
        return [segments[0][:, :budget]]
    a, b = segments
    n1, n2 = a.row_lengths(), b.row_lengths()
    shorter, longer = tf.minimum(n1, n2), tf.maximum(n1, n2)
    # The shorter segment keeps all of itself if that leaves it at most half the
    # budget (the longer takes the rest); otherwise it gets floor(budget / 2) and the
    # longer one the ceiling (on a tie, the first segment counts as the shorter).
    fits = shorter + longer <= budget
    short_alone = shorter <= budget - shorter
    keep_short = tf.where(fits, shorter, tf.where(short_alone, shorter, budget // 2))
    keep_long = tf.where(fits, longer, budget - keep_short)
    first_is_short = n1 <= n2
    keep_a = tf.where(first_is_short, keep_short, keep_long)
    keep_b = tf.where(first_is_short, keep_long, keep_short)
    return [_head(a, keep_a), _head(b, keep_b)]


def _head(ragged, lengths):
    """The first ``lengths[i]`` values of each row (flat ops: quick to trace)."""
    row_lengths = ragged.row_lengths()
    position = tf.range(tf.shape(ragged.flat_values, out_type=tf.int64)[0]) - tf.repeat(
        ragged.row_splits[:-1], row_lengths)
    keep = position < tf.repeat(lengths, row_lengths)
    return tf.RaggedTensor.from_row_lengths(
        tf.boolean_mask(ragged.flat_values, keep), tf.minimum(row_lengths, lengths),
        validate=False)


def _put_in_front(ragged, values, where):
    """Prepend ``values[i]`` to row ``i`` of ``ragged`` where ``where[i]``."""
    extra = tf.cast(where, tf.int64)
    row_lengths = ragged.row_lengths() + extra
    starts = tf.cumsum(row_lengths, exclusive=True)
    old_lengths = ragged.row_lengths()
    within = tf.range(tf.shape(ragged.flat_values, out_type=tf.int64)[0]) - tf.repeat(
        ragged.row_splits[:-1], old_lengths)
    moved = tf.repeat(starts + extra, old_lengths) + within
    flat = tf.dynamic_stitch(
        [tf.cast(moved, tf.int32), tf.cast(tf.boolean_mask(starts, where), tf.int32)],
        [ragged.flat_values, tf.boolean_mask(values, where)])
    return tf.RaggedTensor.from_row_lengths(flat, row_lengths, validate=False)
