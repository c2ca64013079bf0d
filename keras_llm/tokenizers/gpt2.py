"""GPT-2's tokenizer, equal to Hugging Face's byte-level BPE token for token, in TensorFlow ops.

:class:`ByteBPETokenizer` (trained here, encoded by keras-hub) differs from Hugging Face in a few
corners of the pre-split (Unicode spaces, contractions after them, NUL). A pretrained GPT-2 must see
exactly the ids it was trained on, so this tokenizer runs its own pre-split
(:func:`~keras_llm.tokenizers.gpt2_split.gpt2_split`) and merge loop
(:class:`~keras_llm.tokenizers.bpe_merge.BytePairMerger`), both plain TensorFlow ops that a
SavedModel carries.
"""

import json

import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.tokenizers.base import Tokenizer, tokenize_around
from keras_llm.tokenizers.bpe_merge import BytePairMerger
from keras_llm.tokenizers.byte_bpe import (
    _UNICODE_TO_BYTE,
    END_TOKEN,
    ByteBPETokenizer,
    _check_vocabulary,
    _merge_rule,
    byte_to_unicode,
)
from keras_llm.tokenizers.gpt2_split import gpt2_split


class GPT2Tokenizer(ByteBPETokenizer):
    """Byte-level BPE with GPT-2's exact pre-tokenisation (Hugging Face's ``GPT2TokenizerFast``).

    Same files (``vocab.json``, ``merges.txt``) and interface as :class:`ByteBPETokenizer`; only
    the encoding differs: it reproduces Hugging Face's pieces everywhere, and invalid UTF-8 is
    read as U+FFFD (Python's ``decode("utf-8", "replace")``), because Hugging Face takes text, not
    bytes. ``<|endoftext|>`` in the input is the special token, as in Hugging Face.

    Args:
        vocabulary: dict token → id (``vocab.json``), ids ``0..n-1``.
        merges: ``"a b"`` rules in rank order (``merges.txt`` lines; ``#version`` skipped).
        special_tokens: tokens never split (``<|endoftext|>`` for GPT-2).
        name: ``tf.Module`` name.

    Example:
        >>> tok = GPT2Tokenizer.from_files("gpt2/vocab.json", "gpt2/merges.txt")
        >>> tok.encode("Hello world")   # [15496, 995] with GPT-2's vocabulary
    """

    def __init__(self, vocabulary, merges, special_tokens=(END_TOKEN,), name=None):
        vocabulary = {str(token): int(i) for token, i in dict(vocabulary).items()}
        if sorted(vocabulary.values()) != list(range(len(vocabulary))):
            raise UserInputError("GPT2Tokenizer vocabulary ids must be exactly 0..n-1")
        merges = [_merge_rule(m) for m in merges
                  if not (isinstance(m, str) and m.lstrip().startswith("#version"))]
        special_tokens = [str(t) for t in special_tokens if str(t) in vocabulary]
        _check_vocabulary(vocabulary, merges, special_tokens)
        tokens = sorted(vocabulary, key=vocabulary.get)
        specials = set(special_tokens)
        id_bytes = [t.encode("utf-8") if t in specials else bytes(_UNICODE_TO_BYTE[c] for c in t)
                    for t in tokens]
        Tokenizer.__init__(self, id_bytes, name=name)  # not ByteBPETokenizer's: no keras-hub tables
        self._tokens = tuple(tokens)
        self._merges = tuple(merges)
        self.special_tokens = tuple(special_tokens)
        self._separators = tuple((t, (vocabulary[t],)) for t in sorted(special_tokens, key=len, reverse=True))
        self._merger = BytePairMerger(merges, [byte_to_unicode()[b] for b in range(256)], name="merges")
        self._token_ids = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(tokens), tf.range(len(tokens), dtype=tf.int32)),
            default_value=-1)

    @classmethod
    def from_files(cls, vocab_path, merges_path, special_tokens=(END_TOKEN,)):
        """Read Hugging Face's ``vocab.json`` and ``merges.txt``."""
        with open(vocab_path, encoding="utf-8") as f:
            vocabulary = json.load(f)
        with open(merges_path, encoding="utf-8") as f:
            merges = [line.rstrip("\n") for line in f if line.strip()]
        return cls(vocabulary, merges, special_tokens=special_tokens)

    def _tokenize_batch(self, strings):
        return tokenize_around(strings, self._separators, self._tokenize_text)

    def _tokenize_text(self, strings):
        pieces = gpt2_split(strings)                       # (batch, pieces)
        tokens = self._merger(pieces.flat_values)          # (pieces, tokens)
        ids = self._token_ids.lookup(tokens.flat_values)
        return tf.RaggedTensor.from_row_splits(ids, tf.gather(tokens.row_splits, pieces.row_splits))
