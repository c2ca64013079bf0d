"""Token classifiers (POS tagging, NER): a BERT encoder or a bidirectional LSTM, one logit row per piece.

Both backbones take the same three inputs as every BERT model here (``token_ids``,
``segment_ids``, ``padding_mask``; the BiLSTM ignores ``segment_ids``), so one data pipeline
(:mod:`keras_llm.data.token_alignment`) and one export serve both. Labels live on the first
word piece of each word; the other positions carry -100 and are skipped by the loss
(``ignore_class=-100``) and by the metrics, so the logits there are never trained.

A BiLSTM tagger may also read the characters of each word (``char_features: true``): a fourth
input ``char_ids`` (int ``(batch, seq_len, max_word_chars)``, each word's characters at its
first piece; :mod:`keras_llm.data.word_characters`) goes through a char CNN
(:class:`~keras_llm.layers.char_features.CharCNNWordFeatures`) whose per-position vector is
concatenated with the piece embedding, so an unknown word is tagged from its shape too.
Models without it keep the three inputs (runs from before load unchanged).
"""

import dataclasses

import keras

from keras_llm.checks import dropout_rate, positive_int
from keras_llm.errors import UserInputError
from keras_llm.layers import PaddingMaskToBool
from keras_llm.layers.char_features import CharCNNWordFeatures
from keras_llm.models.bert import BERT_BACKBONE, TOKEN_EMBEDDING, BertConfig, bert_inputs, build_bert_backbone
from keras_llm.models.config import ConfigMixin
from keras_llm.models.rnn import recurrent_layer

BACKBONES = ("bert", "bilstm")
HEAD = "tagger_logits"
CHAR_FEATURES = "char_features"


@dataclasses.dataclass
class TokenClassifierConfig(ConfigMixin):
    """Hyper-parameters of a token classifier.

    Args:
        num_tags: number of tags (output logits per position).
        vocab_size: word-piece vocabulary size.
        backbone: ``"bert"`` (Transformer encoder) or ``"bilstm"``.
        hidden_dim, num_layers, num_heads, intermediate_dim, max_length: the BERT encoder
            (see :class:`~keras_llm.models.bert.BertConfig`); ``num_layers`` also counts BiLSTM layers.
        embedding_dim, units: BiLSTM embedding width and state width per direction.
        dropout: dropout in the backbone and before the output layer.
        char_features: BiLSTM only: also read each word's characters through a char CNN.
        char_dim, char_filters, char_kernel_size: the char CNN's character embedding width,
            number of filters (its output width) and kernel width.
        max_word_chars, char_vocab_size: characters kept per word and character ids
            (see :class:`~keras_llm.data.word_characters.CharSpec`).
    """

    num_tags: int
    vocab_size: int
    backbone: str = "bert"
    hidden_dim: int = 256
    num_layers: int = 2
    num_heads: int = 4
    intermediate_dim: int | None = None
    max_length: int = 512
    embedding_dim: int = 128
    units: int = 128
    dropout: float = 0.1
    char_features: bool = False
    char_dim: int = 32
    char_filters: int = 64
    char_kernel_size: int = 3
    max_word_chars: int = 20
    char_vocab_size: int = 512

    def __post_init__(self):
        if self.backbone not in BACKBONES:
            raise UserInputError(f"unknown backbone {self.backbone!r}; choose from {', '.join(BACKBONES)}")
        if self.char_features and self.backbone != "bilstm":
            raise UserInputError("char_features: only the bilstm backbone reads characters")
        for name in ("num_tags", "vocab_size", "embedding_dim", "units", "num_layers", "char_dim", "char_filters",
                     "char_kernel_size", "max_word_chars"):
            positive_int(f"TokenClassifierConfig.{name}", getattr(self, name))
        if not isinstance(self.char_vocab_size, int) or self.char_vocab_size < 2:
            raise UserInputError(f"TokenClassifierConfig.char_vocab_size must be an integer ≥ 2; "
                                 f"got {self.char_vocab_size!r}")
        dropout_rate("TokenClassifierConfig.dropout", self.dropout)

    def bert_config(self):
        return BertConfig(vocab_size=self.vocab_size, hidden_dim=self.hidden_dim, num_layers=self.num_layers,
                          num_heads=self.num_heads, intermediate_dim=self.intermediate_dim,
                          max_length=self.max_length, dropout=self.dropout)


def char_features_of(model):
    """A tagger's :class:`~keras_llm.layers.char_features.CharCNNWordFeatures` layer, ``None`` without one.

    Its ``max_word_chars`` and ``char_vocab_size`` are what the data pipeline needs to build
    the ``char_ids`` input (it reads them as a :class:`~keras_llm.data.word_characters.CharSpec`).
    """
    return next((layer for layer in model.layers if layer.name == CHAR_FEATURES), None)


def _bilstm_features(inputs, config):
    x = keras.layers.Embedding(config.vocab_size, config.embedding_dim, name="token_embedding")(inputs["token_ids"])
    if config.char_features:
        chars = CharCNNWordFeatures(config.char_vocab_size, config.char_dim, config.char_filters,
                                    config.char_kernel_size, config.max_word_chars,
                                    name=CHAR_FEATURES)(inputs["char_ids"])
        x = keras.layers.Concatenate(name="pieces_and_chars")([x, chars])
    x = keras.layers.Dropout(config.dropout, name="embedding_dropout")(x)
    # The explicit mask makes both directions skip padding: the backward LSTM starts at each
    # row's last real token, so a row's outputs do not depend on how much padding follows it.
    mask = PaddingMaskToBool(name="lstm_mask")(inputs["padding_mask"])
    for index in range(config.num_layers):
        layer = keras.layers.Bidirectional(recurrent_layer("lstm", config.units), name=f"bilstm_{index}")
        x = keras.layers.Dropout(config.dropout, name=f"bilstm_dropout_{index}")(layer(x, mask=mask))
    return x


def build_token_classifier(backbone="bert", num_tags=None, vocab_size=None, pretrained=None,
                           name="token_classifier", **options):
    """Build a token classifier: encoded inputs → per-position tag logits.

    Args:
        backbone: ``"bert"``, ``"bilstm"``, or a :class:`TokenClassifierConfig` (then leave
            ``num_tags``, ``vocab_size`` and ``options`` out).
        num_tags: number of tags.
        vocab_size: word-piece vocabulary size (taken from ``pretrained`` when given).
        pretrained: optional BERT backbone (``load_hf_bert``, an earlier run) whose weights are
            fine-tuned in place; only with ``backbone="bert"``.
        **options: further :class:`TokenClassifierConfig` fields (``hidden_dim``, ``units``, …).

    Returns:
        ``keras.Model``: dict ``token_ids``, ``segment_ids``, ``padding_mask`` (int
        ``(batch, seq_len)``; with ``char_features`` also ``char_ids``, int
        ``(batch, seq_len, max_word_chars)``) → float32 logits ``(batch, seq_len, num_tags)``.

    Example:
        >>> model = build_token_classifier("bilstm", num_tags=17, vocab_size=100, units=16, embedding_dim=16)
        >>> ids = keras.ops.array([[2, 7, 9, 3, 0]])
        >>> model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids > 0}).shape
        (1, 5, 17)
    """
    if isinstance(backbone, TokenClassifierConfig):
        config = backbone
    else:
        if pretrained is not None:
            vocab_size = pretrained.get_layer(TOKEN_EMBEDDING).input_dim
        config = TokenClassifierConfig(num_tags=num_tags, vocab_size=vocab_size, backbone=backbone, **options)
    if pretrained is not None and config.backbone != "bert":
        raise UserInputError("a pretrained backbone needs backbone='bert'")
    inputs = bert_inputs()
    if config.char_features:
        inputs["char_ids"] = keras.Input((None, config.max_word_chars), dtype="int32", name="char_ids")
    if config.backbone == "bert":
        encoder = pretrained if pretrained is not None else build_bert_backbone(config.bert_config(),
                                                                                name=BERT_BACKBONE)
        features = encoder(inputs)["sequence_output"]
    else:
        features = _bilstm_features(inputs, config)
    features = keras.layers.Dropout(config.dropout, name="tagger_dropout")(features)
    logits = keras.layers.Dense(config.num_tags, dtype="float32", name=HEAD,
                                kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))(features)
    return keras.Model(inputs, logits, name=name)
