"""Extractive question answering: a BERT encoder with a span head (start/end logits per position).

The reader reads ``[CLS] question [SEP] context [SEP]`` (:mod:`keras_llm.data.qa_windows`) and
scores every position as the answer's first and last piece; the answer is decoded by
:mod:`keras_llm.data.span_answers`. Trained on SQuAD-style labels: the positions of the answer's
first and last piece, or ``[CLS]`` (position 0) for a window that does not hold the answer
(BERT's recipe for SQuAD v1.1, Devlin et al. 2019).
"""

import keras

from keras_llm.layers.span_head import SpanLogits
from keras_llm.models.bert import BERT_BACKBONE, BertConfig, bert_inputs, build_bert_backbone

SPAN_HEAD = "span_logits"
OUTPUTS = ("start_logits", "end_logits")


def build_span_reader(pretrained=None, config=None, dropout=0.1, name="span_reader"):
    """Build a span reader on a pretrained BERT backbone, or on a new one from ``config``.

    Args:
        pretrained: a BERT backbone (``load_hf_bert``, an earlier run's), fine-tuned in place.
        config: a :class:`~keras_llm.models.bert.BertConfig` for a backbone trained from scratch.
        dropout: dropout between the encoder and the span head.

    Returns:
        ``keras.Model``: dict ``token_ids``, ``segment_ids``, ``padding_mask`` (int ``(batch, seq_len)``) →
        dict ``start_logits``, ``end_logits`` (float32 ``(batch, seq_len)``; padding at -1e4).

    Example:
        >>> model = build_span_reader(config=BertConfig(vocab_size=100, hidden_dim=16, num_layers=1, num_heads=2))
        >>> ids = keras.ops.array([[2, 7, 3, 9, 3, 0]])
        >>> model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids > 0})["end_logits"].shape
        (1, 6)
    """
    if (pretrained is None) == (config is None):
        raise ValueError("build_span_reader needs exactly one of pretrained and config")
    inputs = bert_inputs()
    encoder = pretrained if pretrained is not None else build_bert_backbone(config, name=BERT_BACKBONE)
    features = keras.layers.Dropout(dropout, name="span_dropout")(encoder(inputs)["sequence_output"])
    logits = SpanLogits(name=SPAN_HEAD)(features, inputs["padding_mask"])
    # Identity layers name the two outputs, so losses and metrics can be keyed by them.
    outputs = {key: keras.layers.Identity(name=key)(logits[key]) for key in OUTPUTS}
    return keras.Model(inputs, outputs, name=name)


__all__ = ["BertConfig", "build_span_reader", "OUTPUTS", "SPAN_HEAD"]
