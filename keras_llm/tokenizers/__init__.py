"""Tokenizers that run inside TensorFlow graphs (tf.function, tf.data, SavedModel).

``CharTokenizer`` (one id per character, nanoGPT style) and ``ByteBPETokenizer``
(GPT-2 style byte-level BPE) share one interface: ``tokenize``/``detokenize`` as TF
ops, ``encode``/``decode`` for Python, ``save`` and ``load_tokenizer``.
"""

from keras_llm.errors import UserInputError
from keras_llm.tokenizers.base import Tokenizer, read_config
from keras_llm.tokenizers.byte_bpe import END_TOKEN, ByteBPETokenizer
from keras_llm.tokenizers.char import CharTokenizer
from keras_llm.tokenizers.gpt2 import GPT2Tokenizer
from keras_llm.tokenizers.word import WordTokenizer
from keras_llm.tokenizers.wordpiece import WordPieceTokenizer

_CLASSES = {cls.__name__: cls for cls in (CharTokenizer, ByteBPETokenizer, WordTokenizer,
                                          WordPieceTokenizer, GPT2Tokenizer)}


def load_tokenizer(directory):
    """Load a tokenizer written by ``tok.save(directory)``, whatever its class.

    Args:
        directory: path of the saved tokenizer (holds ``tokenizer.json``).

    Returns:
        A ``CharTokenizer`` or ``ByteBPETokenizer``.

    Example:
        >>> tok.save("/tmp/tok")
        >>> load_tokenizer("/tmp/tok").encode("To be") == tok.encode("To be")
        True
    """
    class_name = read_config(directory)["class_name"]
    if class_name not in _CLASSES:
        raise UserInputError(f"unknown tokenizer class {class_name!r} in {directory!r}; "
                         f"expected one of {sorted(_CLASSES)}")
    return _CLASSES[class_name].load(directory)


__all__ = ["END_TOKEN", "ByteBPETokenizer", "CharTokenizer", "GPT2Tokenizer", "Tokenizer", "WordPieceTokenizer",
           "WordTokenizer", "load_tokenizer"]
