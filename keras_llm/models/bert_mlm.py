"""BERT masked-language-model pretraining head (tied to the token embedding)."""

import keras

from keras_llm.layers import GatherPositions, MLMBias
from keras_llm.models.bert import bert_encoder, bert_inputs, build_bert_backbone


def build_bert_masked_lm(config, name="bert_masked_lm"):
    """Encoder → hidden states at ``mask_positions`` → dense+GELU+LayerNorm → tied logits.

    BERT's MLM head: the output layer is the token embedding matrix transposed
    (``ReversibleEmbedding(reverse=True)``), so the model saves and reloads with the tie intact.

    Args:
        config: a :class:`~keras_llm.models.bert.BertConfig`.

    Returns:
        ``keras.Model``: dict ``token_ids``, ``segment_ids``, ``padding_mask`` (``(batch, seq_len)``)
        and ``mask_positions`` (int ``(batch, num_predictions)``) → float32 logits
        ``(batch, num_predictions, vocab_size)``.

    Example:
        >>> model = build_bert_masked_lm(BertConfig(vocab_size=100, hidden_dim=32, num_layers=2, num_heads=2))
    """
    inputs = bert_inputs()
    inputs["mask_positions"] = keras.Input((None,), dtype="int32", name="mask_positions")
    sequence, token_embedding = bert_encoder(inputs, config)
    hidden = GatherPositions(name="masked_positions")(sequence, inputs["mask_positions"])
    hidden = keras.layers.Dense(config.hidden_dim, name="mlm_transform")(hidden)
    # keras' "gelu" activation is the exact erf form (approximate=False), as BERT's head uses.
    hidden = keras.layers.Activation("gelu", name="mlm_activation")(hidden)
    hidden = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name="mlm_norm")(hidden)
    logits = token_embedding(hidden, reverse=True)
    logits = MLMBias(config.vocab_size, name="mlm_bias")(logits)
    return keras.Model(inputs, logits, name=name)


def backbone_from_masked_lm(masked_lm, config):
    """A fresh backbone (with a new pooler) holding the encoder weights of a trained masked LM."""
    backbone = build_bert_backbone(config)
    names = {layer.name for layer in masked_lm.layers}
    for layer in backbone.layers:
        if layer.weights and layer.name in names:
            layer.set_weights(masked_lm.get_layer(layer.name).get_weights())
    return backbone

