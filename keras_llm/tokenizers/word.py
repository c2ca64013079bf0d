"""Word-level tokenizer: words, single punctuation marks and newlines, in TensorFlow ops."""

from collections import Counter

import tensorflow as tf
import tensorflow_text as tf_text

from keras_llm.errors import UserInputError
from keras_llm.tokenizers.base import Tokenizer

UNKNOWN_TOKEN = "[UNK]"
NEWLINE = "\n"
# RE2 syntax. \w and \s are ASCII-only in RE2, hence the Unicode classes. A word is a run of
# letters, digits, combining marks and "_", with apostrophes allowed inside ("don't", "o'er").
_WORD = r"[\pL\pN\pM_]+(?:'[\pL\pN\pM_]+)*"
# Python's str.isspace() set: RE2's \s and \p{Z} plus \v, \x1c-\x1f and U+0085 (NEL).
_SPACE = r"\s\p{Z}\x{0B}\x{1C}-\x{1F}\x{85}"
_PUNCTUATION = rf"[^\pL\pN\pM_{_SPACE}]"  # any other single non-space character
_SPLIT = rf"[{_SPACE}]|{_WORD}|{_PUNCTUATION}"  # leftmost-first: a word wins over its apostrophe
_KEEP = rf"\n|{_WORD}|{_PUNCTUATION}"  # every match except whitespace other than "\n"
_OPENING = ("(", "[", "{")


def pre_tokenize(strings):
    """Cut text into words, single punctuation characters and ``"\\n"`` (TF ops).

    Whitespace other than ``"\\n"`` separates tokens and is dropped; invalid UTF-8 is read
    as U+FFFD (a punctuation token).

    Args:
        strings: ``tf.string`` ``(batch,)``.

    Returns:
        ``tf.RaggedTensor`` of ``tf.string``, ``(batch, None)``.
    """
    strings = tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace")
    # regex_split stops reading a string at a NUL byte (every later word would be lost): NUL separates words.
    strings = tf.strings.regex_replace(strings, "\x00", " ")
    return tf_text.regex_split(strings, _SPLIT, _KEEP)


class WordTokenizer(Tokenizer):
    """Maps words, punctuation marks and newlines to ids, in TensorFlow ops.

    Pre-tokenisation (``pre_tokenize``): a token is a word (letters, digits, marks, ``_``,
    with inner apostrophes), one punctuation character, or ``"\\n"``, so line structure
    survives; other whitespace only separates. With ``lowercase`` the text is lowercased
    (Unicode) first. Tokens not in the vocabulary map to ``[UNK]`` (id 0 after ``train``).

    Detokenization joins tokens with one space, except: no space before a punctuation
    token other than an opening bracket ``( [ {``, no space after an opening bracket,
    and no space on either side of ``"\\n"``. A token is punctuation when it is one
    character that is not a letter, digit, mark or ``_``. So normalised text
    (single spaces between words, none before ``, . ! ? : ;`` or after ``(``, none around
    line breaks) round-trips exactly, e.g. ``"Hello, world!\\nBye."``; other spacing does
    not (``"a ,b"`` comes back as ``"a, b"``). Ids outside ``[0, vocab_size)`` are dropped.

    Args:
        vocabulary: list of str, the token of each id; must contain ``[UNK]``.
        lowercase: lowercase text before looking words up.
        name: ``tf.Module`` name.

    Example:
        >>> tok = WordTokenizer.train("the cat, the dog.\\nthe end.", min_frequency=2)
        >>> tok.vocabulary
        ['[UNK]', 'the', '.']
        >>> tok.decode(tok.encode("the cow."))
        'the [UNK].'
    """

    def __init__(self, vocabulary, lowercase=False, name=None):
        vocabulary = [str(token) for token in vocabulary]
        if UNKNOWN_TOKEN not in vocabulary:
            raise UserInputError(f"WordTokenizer vocabulary must contain {UNKNOWN_TOKEN!r}")
        if len(set(vocabulary)) != len(vocabulary):
            raise UserInputError("WordTokenizer vocabulary has duplicate entries")
        bad = [t for t in vocabulary if not t or (t != NEWLINE and any(c.isspace() for c in t))]
        if bad:
            raise UserInputError(f"WordTokenizer vocabulary entries must be non-empty and without "
                                 f"whitespace (except the token '\\n'); got {bad[:5]}")
        super().__init__([token.encode("utf-8") for token in vocabulary], name=name)
        self._vocabulary = tuple(vocabulary)  # a tuple: tf.Module would track a list
        self.lowercase = bool(lowercase)
        self._unknown_id = vocabulary.index(UNKNOWN_TOKEN)
        self._word_to_id = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(vocabulary, tf.string), tf.range(len(vocabulary), dtype=tf.int32)),
            default_value=self._unknown_id)
        punctuation = [t != UNKNOWN_TOKEN and len(t) == 1 and not (t.isalnum() or t == "_") for t in vocabulary]
        # Per id: no space before it (punctuation, newline) / no space after it (opening bracket, newline).
        self._glue_left = tf.constant(
            [(p and t not in _OPENING) or t == NEWLINE for p, t in zip(punctuation, vocabulary)])
        self._glue_right = tf.constant([t in _OPENING or t == NEWLINE for t in vocabulary])

    @classmethod
    def train(cls, text, min_frequency=2, max_vocab_size=None, lowercase=False):
        """Build the vocabulary from a corpus.

        Args:
            text: str, the training corpus.
            min_frequency: keep tokens seen at least this often.
            max_vocab_size: optional cap on the vocabulary size, ``[UNK]`` included.
            lowercase: lowercase the corpus (and later inputs).

        Returns:
            A ``WordTokenizer`` whose vocabulary is ``[UNK]`` (id 0), then the kept tokens
            by descending frequency, ties in code-point order.
        """
        if not isinstance(text, str):
            raise TypeError(f"WordTokenizer.train expects the corpus as a str; got {type(text)}")
        if not text:
            raise UserInputError("WordTokenizer.train got an empty corpus")
        if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) or min_frequency < 1:
            raise UserInputError(f"min_frequency must be an integer >= 1; got {min_frequency!r}")
        if max_vocab_size is not None and (
                isinstance(max_vocab_size, bool) or not isinstance(max_vocab_size, int) or max_vocab_size < 1):
            raise UserInputError(f"max_vocab_size must be an integer >= 1 or None; got {max_vocab_size!r}")
        strings = tf.constant([text])
        if lowercase:
            strings = tf.strings.lower(strings, encoding="utf-8")
        # The same graph ops as tokenize, so training and tokenization always agree.
        tokens = pre_tokenize(strings).flat_values.numpy()
        counts = Counter(token.decode("utf-8") for token in tokens)
        counts.pop(UNKNOWN_TOKEN, None)
        kept = sorted((t for t, c in counts.items() if c >= min_frequency), key=lambda t: (-counts[t], t))
        vocabulary = [UNKNOWN_TOKEN] + kept
        if max_vocab_size is not None:
            vocabulary = vocabulary[:max_vocab_size]
        return cls(vocabulary, lowercase=lowercase)

    @property
    def vocabulary(self):
        """list of str: the token of each id."""
        return list(self._vocabulary)

    @property
    def unknown_token_id(self):
        """Id of ``[UNK]``, which every out-of-vocabulary token maps to."""
        return self._unknown_id

    def _tokenize_batch(self, strings):
        if self.lowercase:
            strings = tf.strings.lower(strings, encoding="utf-8")
        return tf.ragged.map_flat_values(self._word_to_id.lookup, pre_tokenize(strings))

    def detokenize(self, ids):
        """Token ids → text, as TensorFlow ops, with the spacing rule of the class docstring.

        Args:
            ids: int ``(batch, len)`` dense tensor, ``tf.RaggedTensor`` ``(batch, None)``,
                or nested Python lists; a single sequence ``(len,)`` is also accepted.

        Returns:
            ``tf.string`` ``(batch,)`` (a scalar for a single sequence).
        """
        ids, single = self._id_batch(ids)
        ids = tf.ragged.boolean_mask(ids, (ids >= 0) & (ids < len(self._vocabulary)))
        flat = ids.flat_values
        pieces = self._id_to_bytes.lookup(flat)
        position = tf.range(tf.size(flat, out_type=tf.int64))
        first = position == tf.gather(ids.row_splits[:-1], ids.value_rowids())
        glue_after_previous = tf.gather(self._glue_right, tf.roll(flat, 1, axis=0))
        space = ~first & ~glue_after_previous & ~tf.gather(self._glue_left, flat)
        joined = tf.strings.join([tf.where(space, " ", ""), pieces])
        text = tf.strings.reduce_join(ids.with_flat_values(joined), axis=-1)
        return text[0] if single else text

    def detokenize_continuation(self, prompts, ids):
        """``detokenize(ids)``, with a leading space where the spacing rule puts one between the prompt's
        last token and the first new one (none after a prompt that ends in whitespace or is empty).

        Example:
            >>> tok.detokenize_continuation(["the cat"], [tok.encode("sat.")]).numpy()
            array([b' sat.'], dtype=object)
        """
        prompts = tf.convert_to_tensor(prompts, dtype=tf.string)
        text = self.detokenize(ids)
        ids, _ = self._id_batch(ids)
        ids = tf.ragged.boolean_mask(ids, (ids >= 0) & (ids < len(self._vocabulary)))
        prompt_ids = tf.cast(self.tokenize(prompts), tf.int64)
        has_prompt = prompt_ids.row_lengths() > 0
        has_new = ids.row_lengths() > 0
        # The last prompt id and the first new id of each row; a 0 ([UNK]) appended to the flat ids keeps
        # the gathers in range when rows are empty (those rows are masked by has_prompt / has_new).
        prompt_flat = tf.concat([prompt_ids.flat_values, tf.zeros([1], tf.int64)], 0)
        new_flat = tf.concat([ids.flat_values, tf.zeros([1], tf.int64)], 0)
        last_prompt = tf.gather(prompt_flat, tf.maximum(prompt_ids.row_limits() - 1, 0))
        first_new = tf.gather(new_flat, ids.row_starts())
        ends_in_space = tf.strings.regex_full_match(prompts, r"(?s).*\s")
        space = (has_prompt & has_new & ~ends_in_space & ~tf.gather(self._glue_right, last_prompt)
                 & ~tf.gather(self._glue_left, first_new))
        return tf.strings.join([tf.where(space, " ", ""), text])

    def get_config(self):
        """JSON-able config; ``WordTokenizer(**config)`` rebuilds the tokenizer."""
        return {"vocabulary": self.vocabulary, "lowercase": self.lowercase}
