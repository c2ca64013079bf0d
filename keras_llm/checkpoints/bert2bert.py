"""Warm-start an encoder–decoder Transformer from a Hugging Face BERT ("BERT2BERT", Rothe, Narayan
and Severyn, TACL 2020): every seq2seq recipe's ``init_from``.

- Encoder = the BERT: token, position and embedding-LayerNorm weights, and every block. BERT adds a
  segment embedding to every token; a seq2seq source is one segment (id 0), so that row is added
  into the position table: the encoder's output equals the BERT's for the same ids, exactly.
- Decoder = the same BERT again, block by block: its self-attention (made causal by the decoder
  block, which is the only change the paper needs), its feed-forward part and their LayerNorms.
  Cross-attention has no counterpart in BERT: it keeps its fresh initialisation (and its
  LayerNorm starts at the identity), as in the paper.
- One token embedding for both sides, also the output layer (tied), as in the paper's shared
  BERT2BERT; BERT's MLM-head transform is not used. The pooler is not used.

The model is post-LN with BERT's activation and LayerNorm epsilon, and needs the BERT's vocabulary on
both sides (the run saves the BERT's WordPiece tokenizer as its source and target tokenizers).

Example:
    >>> config = bert2bert_config(bert_config_from_hf(path), max_source_length=256, max_target_length=48)
    >>> model = build_seq2seq_transformer(config)
    >>> used = load_bert_into_seq2seq(model, path)      # {BERT tensor: [where it went, ...]}
"""

import numpy as np

from keras_llm.checkpoints.hf_bert import _assign, _load_attention, _load_dense, _load_norm, _read_tensors
from keras_llm.errors import UserInputError
from keras_llm.models.seq2seq import Seq2SeqConfig, seq2seq_layers


def bert2bert_config(bert_config, max_source_length, max_target_length, dropout=None):
    """The :class:`~keras_llm.models.seq2seq.Seq2SeqConfig` that a BERT's weights fit.

    Args:
        bert_config: a :class:`~keras_llm.models.bert.BertConfig` (``bert_config_from_hf``).
        max_source_length, max_target_length: each at most the BERT's position table.
        dropout: default the BERT's.
    """
    for name, value in (("max_source_length", max_source_length), ("max_target_length", max_target_length)):
        if value > bert_config.max_length:
            raise UserInputError(f"{name} {value} is longer than the BERT's {bert_config.max_length} positions")
    return Seq2SeqConfig(
        source_vocabulary_size=bert_config.vocab_size, target_vocabulary_size=bert_config.vocab_size,
        num_encoder_layers=bert_config.num_layers, num_decoder_layers=bert_config.num_layers,
        num_heads=bert_config.num_heads, hidden_dim=bert_config.hidden_dim,
        intermediate_dim=bert_config.intermediate_dim, max_source_length=max_source_length,
        max_target_length=max_target_length, dropout=bert_config.dropout if dropout is None else dropout,
        norm_first=False, tie_target_embeddings=True, shared_vocabulary=True, position="learned",
        activation=bert_config.activation, layer_norm_epsilon=bert_config.layer_norm_epsilon, embedding_norm=True)


def _check_fits(parts, tensors, bert_layers):
    problems = []
    if parts["lm_head"] is not None or parts["encoder_embedding_norm"] is None:
        problems.append("the model must tie its output layer and have embedding norms (use bert2bert_config)")
    for side in ("encoder", "decoder"):
        if len(parts[f"{side}_blocks"]) != bert_layers:
            problems.append(f"{len(parts[f'{side}_blocks'])} {side} blocks but the BERT has {bert_layers} layers")
    if parts["encoder_token_embedding"] is not parts["decoder_token_embedding"]:
        problems.append("the model must share one token embedding between encoder and decoder")
    if problems:
        raise UserInputError(f"cannot warm-start this model from a BERT: {'; '.join(problems)}")


def load_bert_into_seq2seq(model, directory, num_heads):
    """Copy the BERT in ``directory`` (``model.safetensors``) into a model of :func:`bert2bert_config`.

    Returns:
        ``{bert tensor name: [the model's layer paths it was copied into]}`` for every tensor used
        (``pooler.*`` is not), so a caller can check the mapping.
    """
    tensors = _read_tensors(directory)
    layers = sum(1 for name in tensors if name.endswith(".attention.self.query.weight"))
    parts = seq2seq_layers(model)
    _check_fits(parts, tensors, layers)
    used = {}

    def record(prefix, *places):
        for name in tensors:
            if name == prefix or name.startswith(prefix + "."):
                used.setdefault(name, []).extend(places)

    embedding = parts["encoder_token_embedding"]
    _assign(embedding.embeddings, tensors["embeddings.word_embeddings.weight"], "word_embeddings")
    record("embeddings.word_embeddings", embedding.name, f"{embedding.name} (tied output layer)")
    # One segment: its embedding row is a constant added to every position.
    positions = tensors["embeddings.position_embeddings.weight"] + tensors["embeddings.token_type_embeddings.weight"][0]
    for side in ("encoder", "decoder"):
        table = parts[f"{side}_position_embedding"]
        _assign(table.embeddings, np.asarray(positions)[:table.max_length], f"{side} positions")
        record("embeddings.position_embeddings", table.name)
        record("embeddings.token_type_embeddings", f"{table.name} (segment 0 row added)")
        _load_norm(parts[f"{side}_embedding_norm"], tensors, "embeddings.LayerNorm")
        record("embeddings.LayerNorm", parts[f"{side}_embedding_norm"].name)
    for index in range(layers):
        prefix = f"encoder.layer.{index}"
        for block in (parts["encoder_blocks"][index], parts["decoder_blocks"][index]):
            _load_attention(block.self_attention, tensors, f"{prefix}.attention", num_heads)
            _load_norm(block.self_attention_norm, tensors, f"{prefix}.attention.output.LayerNorm")
            _load_dense(block.feed_forward.intermediate_dense, tensors, f"{prefix}.intermediate.dense")
            _load_dense(block.feed_forward.output_dense, tensors, f"{prefix}.output.dense")
            _load_norm(block.feed_forward_norm, tensors, f"{prefix}.output.LayerNorm")
            record(f"{prefix}.attention", f"{block.name}/self_attention")
            record(f"{prefix}.intermediate", f"{block.name}/feed_forward")
            record(f"{prefix}.output", f"{block.name}/feed_forward")
    return used
