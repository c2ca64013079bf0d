"""The tokens every compared language model shares: one tokenizer, one 90/10 split, one trainer stream.

With a held-out file (``valid_text``), the whole corpus trains the tokenizer and the models, and
the held-out text validates every one of them, tokenized with that same vocabulary (unknown
words become ``[UNK]`` at word level). Without one, the split is by position: the first 90% of
the corpus *characters* train the tokenizer and the models, the last 10% validate. Each part is
tokenized on its own, so no token straddles the boundary, and the tokenizer never sees the
validation text. ``train_language_model`` splits the
ids it is given once more (``split_train_validation``); it is handed the stream that
``join_train_validation`` (that split's inverse) builds, so it trains on exactly the training ids.
"""

import dataclasses

import numpy as np

from keras_llm.data import TRAIN_FRACTION, join_train_validation
from keras_llm.errors import UserInputError
from keras_llm.runs.gpt import word_tokenizer
from keras_llm.tokenizers import ByteBPETokenizer, CharTokenizer

TOKENIZERS = ("char", "word", "bpe")
UNKNOWN_CHAR = "\ufffd"


def train_tokenizer(kind, text, bpe_vocab_size=512, min_count=2):
    """A tokenizer of ``kind`` trained on ``text`` (the training part of the corpus); at word level the
    vocabulary is every token seen at least ``min_count`` times (the same rule as `train --tokenizer word`)."""
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "word":
        return word_tokenizer(text, min_count)
    return ByteBPETokenizer.train(text, vocab_size=bpe_vocab_size)


def split_and_tokenize(text, kind, bpe_vocab_size=512, valid_text=None, min_count=2):
    """Train a tokenizer on the training text and tokenize it and the validation text with it.

    The validation text is ``valid_text`` when given (then all of ``text`` trains); otherwise
    ``text`` is cut at 90% of its characters. Characters of the validation text that the
    training text lacks map to an unknown token (char level; word level has ``[UNK]``,
    byte-level BPE needs none), so no validation token is silently dropped.

    Returns:
        ``(tokenizer, train_ids, valid_ids)`` with int32 id arrays.

    Example:
        >>> tokenizer, train_ids, valid_ids = split_and_tokenize(corpus, "word", valid_text=held_out)
    """
    if valid_text is None:
        cut = int(len(text) * TRAIN_FRACTION)
        train_text, valid_text = text[:cut], text[cut:]
        if not train_text.strip() or not valid_text.strip():
            raise UserInputError(f"the corpus ({len(text)} characters) is too small to split 90/10")
    else:
        train_text = text
        if not valid_text.strip():
            raise UserInputError("the validation file holds no text")
    tokenizer = train_tokenizer(kind, train_text, bpe_vocab_size, min_count)
    if kind == "char" and set(valid_text) - set(train_text):
        tokenizer = CharTokenizer.train(train_text, unknown_token=UNKNOWN_CHAR)
    train_ids = np.asarray(tokenizer.encode(train_text), np.int32)
    valid_ids = np.asarray(tokenizer.encode(valid_text), np.int32)
    return tokenizer, train_ids, valid_ids


@dataclasses.dataclass
class SharedTokens:
    """One comparison's tokens.

    Attributes:
        tokenizer: trained on the training text only.
        train_ids, valid_ids: int32 ids of the two parts of the corpus.
        stream: what ``train_language_model`` is given (``train_ids`` + a prefix of ``valid_ids``).
        trainer_valid_ids: the part of ``stream`` the trainer validates on.
    """

    tokenizer: object
    train_ids: np.ndarray
    valid_ids: np.ndarray
    stream: np.ndarray
    trainer_valid_ids: np.ndarray

    @property
    def vocab_size(self):
        return self.tokenizer.vocab_size


def share_tokens(text, kind, sequence_length, bpe_vocab_size=512, valid_text=None, min_count=2):
    """Split (or, with ``valid_text``, only tokenize) ``text`` and build the trainer's stream; every part
    must hold one window.

    Raises:
        UserInputError: the corpus is too small for ``sequence_length``.
    """
    tokenizer, train_ids, valid_ids = split_and_tokenize(text, kind, bpe_vocab_size, valid_text, min_count)
    need = max(sequence_length + 1, 2)
    if len(train_ids) < need or len(valid_ids) < need:
        raise UserInputError(
            f"corpus too small: {len(train_ids)} training and {len(valid_ids)} validation tokens, but each split "
            f"needs at least sequence length + 1 = {need}; use a longer corpus or a smaller sequence_length")
    stream, trainer_valid_count = join_train_validation(train_ids, valid_ids)
    if trainer_valid_count < need:
        raise UserInputError(f"corpus too small: the trainer's validation part has {trainer_valid_count} tokens, "
                             f"fewer than sequence length + 1 = {need}")
    return SharedTokens(tokenizer, train_ids, valid_ids, stream, stream[len(train_ids):])
