"""Byte-level BPE (GPT-2 style): trained with Hugging Face `tokenizers`, run with keras-hub.

Training uses the Rust trainer of the `tokenizers` library (seconds for a megabyte);
encoding in graphs uses ``keras_hub.tokenizers.BytePairTokenizer``, which implements
GPT-2's regex pre-split and merge loop with TensorFlow ops. The tests check that the
two give the same ids.
"""

import itertools
import json
import os

import keras_hub
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import models, pre_tokenizers, trainers

from keras_llm.errors import UserInputError
from keras_llm.tokenizers.base import Tokenizer, tokenize_around

END_TOKEN = "<|endoftext|>"
VOCAB_FILENAME = "vocab.json"
MERGES_FILENAME = "merges.txt"
_CHUNK_CHARS = 1 << 20
_CUT_CHARS = ("\u096c", "\x00")  # "६" and NUL, see ByteBPETokenizer.__init__


def byte_to_unicode():
    """GPT-2's reversible map from each byte to a printable character.

    Printable Latin-1 bytes stand for themselves; the other 68 (controls, space,
    NBSP, soft hyphen) take the characters U+0100, U+0101, ... in byte order, so a
    space shows as "Ġ" and a newline as "Ċ" in the vocabulary.
    """
    printable = set(range(0x21, 0x7F)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    table, shifted = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(0x100 + shifted)
            shifted += 1
    return table


_UNICODE_TO_BYTE = {char: byte for byte, char in byte_to_unicode().items()}
# keras-hub cannot build its rank table from zero merges (TF reads an empty key list
# as float). NUL never reaches keras-hub (it is cut out first), so this never fires.
_NEVER_MATCHING_MERGE = "\u0100 \u0100"


class ByteBPETokenizer(Tokenizer):
    """Byte-level byte-pair encoding, GPT-2 style, in TensorFlow ops.

    Text is split with GPT-2's regex (words with their leading space, numbers,
    punctuation runs, whitespace), each piece's UTF-8 bytes are mapped to printable
    characters and merged by rank. Every byte is in the vocabulary, so ANY input,
    even invalid UTF-8, encodes without unknown tokens and decodes back to the same
    bytes. Special tokens (``<|endoftext|>`` always; ``train`` puts specials first, so
    its id is 0) are never split, and their literal text in the input maps to
    their id, as in Hugging Face `tokenizers`. Ids outside ``[0, vocab_size)`` are
    dropped by ``detokenize``. The ids equal those of Hugging Face `tokenizers`
    except in two corners of the pre-split: around NUL and "६" (U+096C), which are
    cut out first (see ``__init__``), and a rare Unicode space (e.g. U+2028, U+2003,
    "\v") right before a contraction like "'s". The round trip is exact everywhere.

    Args:
        vocabulary: dict token → id (GPT-2 ``vocab.json`` format), ids ``0..n-1``.
        merges: list of ``"a b"`` merge rules in rank order (``merges.txt`` lines;
            a ``#version`` header is skipped) or ``(a, b)`` pairs.
        special_tokens: tokens of ``vocabulary`` that are never split or merged.
        name: ``tf.Module`` name.

    Example:
        >>> tok = ByteBPETokenizer.train(open("input.txt").read(), vocab_size=512)
        >>> ids = tok.tokenize(["To be, or not", "你好 😀"])   # ragged int32 (2, None)
        >>> tok.detokenize(ids).numpy()[1].decode()
        '你好 😀'
    """

    def __init__(self, vocabulary, merges, special_tokens=(END_TOKEN,), name=None):
        vocabulary = {str(token): int(i) for token, i in dict(vocabulary).items()}
        if sorted(vocabulary.values()) != list(range(len(vocabulary))):
            raise UserInputError("ByteBPETokenizer vocabulary ids must be exactly 0..n-1")
        merges = [_merge_rule(m) for m in merges
                  if not (isinstance(m, str) and m.lstrip().startswith("#version"))]
        special_tokens = [str(t) for t in special_tokens]
        _check_vocabulary(vocabulary, merges, special_tokens)
        tokens = sorted(vocabulary, key=vocabulary.get)
        specials = set(special_tokens)
        id_bytes = [t.encode("utf-8") if t in specials else bytes(_UNICODE_TO_BYTE[c] for c in t)
                    for t in tokens]
        super().__init__(id_bytes, name=name)
        self._tokens = tuple(tokens)
        self._merges = tuple(merges)
        self.special_tokens = tuple(special_tokens)
        ranks = {tuple(m.split(" ")): rank for rank, m in enumerate(merges)}
        # Pieces of text that keras-hub must not see, cut out and put back as fixed ids:
        # special tokens (so "ĴA", keras-hub's stand-in for them, stays plain text),
        # "६" (its internal marker, which it deletes from the text) and NUL (tf-text's
        # regex_split stops reading at it). Longer specials first: longest match wins.
        self._separators = tuple(
            [(t, (vocabulary[t],)) for t in sorted(special_tokens, key=len, reverse=True)]
            + [(c, tuple(vocabulary[p] for p in _bpe_word(_spell(c), ranks)))
               for c in _CUT_CHARS])
        # _allow_python_workflow=False: keras-hub's eager path is a Hugging Face
        # tokenizer with a Llama-3 pre-split, not GPT-2's; we always want the TF path.
        # Its tables (and a cache of merged words) are tracked by this tf.Module.
        self._bpe = keras_hub.tokenizers.BytePairTokenizer(
            vocabulary=vocabulary, merges=merges or [_NEVER_MATCHING_MERGE],
            unsplittable_tokens=[], dtype="int32", _allow_python_workflow=False,
            name="byte_pair_tokenizer")

    @classmethod
    def train(cls, text_or_files, vocab_size, special_tokens=(), min_frequency=2):
        """Learn merges from a corpus with the Hugging Face `tokenizers` BPE trainer.

        Args:
            text_or_files: the corpus as a str, or a path (``os.PathLike``) or a list
                of paths of UTF-8 text files.
            vocab_size: wanted size including the 256 bytes and the special tokens;
                smaller if the corpus runs out of pairs seen ``min_frequency`` times.
            special_tokens: extra special tokens; ``<|endoftext|>`` is always first.
            min_frequency: pairs seen fewer times are not merged.

        Returns:
            A ``ByteBPETokenizer``.
        """
        specials = [END_TOKEN] + [t for t in dict.fromkeys(special_tokens) if t != END_TOKEN]
        if int(vocab_size) < 256 + len(specials):
            raise UserInputError(f"vocab_size must be at least {256 + len(specials)} (256 bytes + "
                             f"{len(specials)} special tokens); got {vocab_size}")
        corpus = _corpus_chunks(text_or_files)
        hf = HFTokenizer(models.BPE())
        # use_regex=True is GPT-2's pre-split, which keras-hub reproduces in TF ops.
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        trainer = trainers.BpeTrainer(
            vocab_size=int(vocab_size), min_frequency=int(min_frequency),
            special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False)
        hf.train_from_iterator(corpus, trainer=trainer)
        model = json.loads(hf.to_str())["model"]
        return cls(model["vocab"], model["merges"], special_tokens=specials)

    @property
    def vocabulary(self):
        """list of str: the token of each id, in GPT-2's printable byte spelling."""
        return list(self._tokens)

    @property
    def merges(self):
        """list of str: the ``"a b"`` merge rules, highest priority first."""
        return list(self._merges)

    @property
    def end_token_id(self):
        """Id of ``<|endoftext|>`` (None only for a vocabulary without it)."""
        return self._tokens.index(END_TOKEN) if END_TOKEN in self._tokens else None

    def _tokenize_batch(self, strings):
        return tokenize_around(strings, tuple(self._separators), self._bpe.tokenize)

    def get_config(self):
        """JSON-able config; with ``vocab.json`` and ``merges.txt`` it rebuilds the tokenizer."""
        return {"special_tokens": list(self.special_tokens)}

    def _save_assets(self, directory):
        vocab = {token: i for i, token in enumerate(self._tokens)}
        with open(os.path.join(directory, VOCAB_FILENAME), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)
        with open(os.path.join(directory, MERGES_FILENAME), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n" + "".join(m + "\n" for m in self._merges))

    @classmethod
    def _from_directory(cls, directory, config):
        with open(os.path.join(directory, VOCAB_FILENAME), encoding="utf-8") as f:
            vocabulary = json.load(f)
        with open(os.path.join(directory, MERGES_FILENAME), encoding="utf-8") as f:
            merges = [line.rstrip("\n") for line in f if line.strip()]
        return cls(vocabulary, merges, **config)


def _merge_rule(merge):
    parts = merge.split(" ") if isinstance(merge, str) else list(merge)
    if len(parts) != 2 or not all(parts):
        raise UserInputError(f"a merge rule must be two tokens 'a b'; got {merge!r}")
    return " ".join(parts)


def _spell(text):
    return "".join(byte_to_unicode()[b] for b in text.encode("utf-8"))


def _bpe_word(symbols, ranks):
    """Byte-pair merge of one pre-token: apply the best-ranked adjacent pair until none."""
    parts = list(symbols)
    while len(parts) > 1:
        rank, i = min((ranks.get(pair, len(ranks)), i)
                      for i, pair in enumerate(itertools.pairwise(parts)))
        if rank == len(ranks):
            break
        parts[i:i + 2] = [parts[i] + parts[i + 1]]
    return parts


def _check_vocabulary(vocabulary, merges, special_tokens):
    # keras-hub maps a piece missing from the vocabulary to id -1; refuse such
    # vocabularies up front rather than emit invalid ids later.
    missing = [t for t in special_tokens if t not in vocabulary or not t]
    if missing:
        raise UserInputError(f"special tokens {missing} are empty or not in the vocabulary")
    missing = [c for c in _UNICODE_TO_BYTE if c not in vocabulary]
    if missing:
        raise UserInputError(f"byte-level vocabulary lacks {len(missing)} of the 256 byte symbols")
    specials = set(special_tokens)
    for token in vocabulary:
        if token not in specials and not all(c in _UNICODE_TO_BYTE for c in token):
            raise UserInputError(f"token {token!r} is not in byte-level spelling")
    for merge in merges:
        a, b = merge.split(" ")
        if a not in vocabulary or b not in vocabulary or a + b not in vocabulary:
            raise UserInputError(f"merge rule {merge!r} uses or makes a token not in the vocabulary")


def _corpus_chunks(text_or_files):
    """Validate the corpus now; return an iterable of text chunks for the trainer."""
    if isinstance(text_or_files, str):
        if not text_or_files:
            raise UserInputError("ByteBPETokenizer.train got an empty corpus")
        return [text_or_files]
    paths = [text_or_files] if isinstance(text_or_files, os.PathLike) else list(text_or_files)
    for path in paths:
        if not os.path.isfile(path):
            raise UserInputError(f"corpus file not found: {path!r}")
    if sum(os.path.getsize(p) for p in paths) == 0:
        raise UserInputError("ByteBPETokenizer.train got an empty corpus")
    return _read_chunks(paths)


def _read_chunks(paths):
    # Whole lines in ~1 MB chunks: bounded memory, and newline="" keeps "\r\n" as is.
    for path in paths:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            chunk, size = [], 0
            for line in f:
                chunk.append(line)
                size += len(line)
                if size >= _CHUNK_CHARS:
                    yield "".join(chunk)
                    chunk, size = [], 0
            if chunk:
                yield "".join(chunk)
