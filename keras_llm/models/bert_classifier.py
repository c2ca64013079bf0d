"""Sequence classifier on top of a BERT backbone."""

import keras

from keras_llm.models.bert import BertConfig, bert_inputs, build_bert_backbone

CLASSIFIER_HEAD = "classifier_logits"  # the task head: trained in full when the encoder gets LoRA adapters


def build_bert_classifier(backbone_or_config, num_classes, dropout=0.1, name="bert_classifier"):
    """[CLS] pooled output → dropout → dense logits.

    Args:
        backbone_or_config: a backbone from ``build_bert_backbone`` / ``load_hf_bert`` (its
            weights are fine-tuned in place), or a :class:`BertConfig` for a fresh one.
        num_classes: number of labels (≥ 2).
        dropout: dropout before the output layer.

    Returns:
        ``keras.Model``: the backbone's input dict → float32 logits ``(batch, num_classes)``.

    Example:
        >>> model = build_bert_classifier(BertConfig(vocab_size=100, hidden_dim=32, num_layers=2, num_heads=2), 3)
    """
    backbone = (build_bert_backbone(backbone_or_config) if isinstance(backbone_or_config, BertConfig)
                else backbone_or_config)
    inputs = bert_inputs()
    pooled = backbone(inputs)["pooled_output"]
    pooled = keras.layers.Dropout(dropout, name="classifier_dropout")(pooled)
    logits = keras.layers.Dense(num_classes, dtype="float32", name=CLASSIFIER_HEAD,
                                kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))(pooled)
    return keras.Model(inputs, logits, name=name)
