"""Load a Hugging Face GPT-2 directory into a GPT built by ``build_gpt``, with GPT-2's exact tokenizer.

Reads ``config.json``, ``model.safetensors`` (safetensors' numpy API; pickle files are refused,
as for BERT), ``vocab.json`` and ``merges.txt``. Both layouts of the weights load: the real
``gpt2`` directory's (``wte.weight``, ``h.0.attn.c_attn.weight``, ..., saved from ``GPT2Model``,
with the causal-mask buffers ``h.<i>.attn.bias`` that are not weights) and the one
``GPT2LMHeadModel.save_pretrained`` writes (the same names under ``transformer.``).
"""

import json
import os

import numpy as np

from keras_llm.checkpoints.safetensors_weights import assign as _assign
from keras_llm.checkpoints.safetensors_weights import load_norm as _load_norm
from keras_llm.checkpoints.safetensors_weights import read_safetensors as _read_safetensors
from keras_llm.errors import UserInputError
from keras_llm.models import gpt

_PREFIXES = ("transformer.", "")
# Hugging Face's names of GPT-2's activation → ours. gelu_new and gelu_pytorch_tanh are both the
# tanh approximation (GPT-2's own); "gelu" is the exact erf form.
_ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh",
                "gelu": "gelu", "relu": "relu"}


def _read_json(directory, name):
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise UserInputError(f"no {name} in {directory}; expected a Hugging Face GPT-2 directory "
                             "(config.json, model.safetensors, vocab.json, merges.txt)")
    with open(path, encoding="utf-8") as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as error:
            raise UserInputError(f"{path} is not valid JSON ({error.msg}, line {error.lineno})") from None


def gpt2_config_from_hf(directory):
    """A :class:`~keras_llm.models.gpt.GPTConfig` from a GPT-2 ``config.json``.

    Raises:
        UserInputError: not a GPT-2 config (``model_type``), or a variant our GPT does not
            compute exactly (another activation, attention scaled by layer index, cross-attention).
    """
    hf = _read_json(directory, "config.json")
    if hf.get("model_type") != "gpt2":
        raise UserInputError(f"{directory} holds a {hf.get('model_type')!r} model, not GPT-2 "
                             "(config.json model_type must be 'gpt2')")
    activation = _ACTIVATIONS.get(hf.get("activation_function", "gelu_new"))
    if activation is None:
        raise UserInputError(f"unsupported activation_function {hf.get('activation_function')!r} in "
                             f"{directory}/config.json; GPT-2 uses gelu_new")
    for key, supported in (("scale_attn_weights", True), ("scale_attn_by_inverse_layer_idx", False),
                           ("add_cross_attention", False)):
        if hf.get(key, supported) != supported:
            raise UserInputError(f"{key}={hf[key]} in {directory}/config.json is not supported")
    hidden = hf.get("n_embd", 768)
    return gpt.GPTConfig(
        vocab_size=hf.get("vocab_size", 50257), max_length=hf.get("n_positions", 1024),
        num_layers=hf.get("n_layer", 12), num_heads=hf.get("n_head", 12), hidden_dim=hidden,
        intermediate_dim=hf.get("n_inner") or 4 * hidden, dropout=hf.get("resid_pdrop", 0.1),
        tie_weights=hf.get("tie_word_embeddings", True), layer_norm_epsilon=hf.get("layer_norm_epsilon", 1e-5),
        activation=activation)


def _gpt2_tensors(directory):
    tensors = _read_safetensors(directory)
    for prefix in _PREFIXES:
        if f"{prefix}wte.weight" in tensors:
            named = {name[len(prefix):]: value for name, value in tensors.items() if name.startswith(prefix)}
            if "lm_head.weight" in tensors:
                named["lm_head.weight"] = tensors["lm_head.weight"]
            return named
    raise UserInputError(f"{directory}/model.safetensors has no GPT-2 token embedding (wte.weight)")


def _conv1d(tensors, name):
    # Hugging Face's GPT-2 uses Conv1D: weights are stored (in, out), Keras' Dense layout already.
    try:
        return tensors[f"{name}.weight"], tensors[f"{name}.bias"]
    except KeyError as missing:
        raise UserInputError(f"model.safetensors lacks {missing.args[0]}") from None


def _load_block(block, tensors, index, num_heads):
    prefix = f"h.{index}"
    weight, bias = _conv1d(tensors, f"{prefix}.attn.c_attn")
    hidden = weight.shape[0]
    head_dim = hidden // num_heads
    attention = block.self_attention
    # c_attn is query, key and value side by side, each split into heads along its columns.
    for part, dense in enumerate((attention.query_dense, attention.key_dense, attention.value_dense)):
        columns = slice(part * hidden, (part + 1) * hidden)
        _assign(dense.kernel, weight[:, columns].reshape(hidden, num_heads, head_dim), f"{prefix}.attn.c_attn")
        _assign(dense.bias, bias[columns].reshape(num_heads, head_dim), f"{prefix}.attn.c_attn.bias")
    weight, bias = _conv1d(tensors, f"{prefix}.attn.c_proj")
    _assign(attention.output_dense.kernel, weight.reshape(num_heads, head_dim, -1), f"{prefix}.attn.c_proj")
    _assign(attention.output_dense.bias, bias, f"{prefix}.attn.c_proj.bias")
    _load_norm(block.self_attention_norm, tensors, f"{prefix}.ln_1")
    for dense, name in ((block.feed_forward.intermediate_dense, "mlp.c_fc"),
                        (block.feed_forward.output_dense, "mlp.c_proj")):
        weight, bias = _conv1d(tensors, f"{prefix}.{name}")
        _assign(dense.kernel, weight, f"{prefix}.{name}")
        _assign(dense.bias, bias, f"{prefix}.{name}.bias")
    _load_norm(block.feed_forward_norm, tensors, f"{prefix}.ln_2")


def load_hf_gpt2_weights(model, directory, config):
    """Copy ``model.safetensors`` of ``directory`` into ``model`` (built by ``build_gpt(config)``)."""
    tensors = _gpt2_tensors(directory)
    layers = sum(1 for name in tensors if name.startswith("h.") and name.endswith(".attn.c_attn.weight"))
    if layers != config.num_layers:
        raise UserInputError(f"{directory}: model.safetensors has {layers} blocks, "
                             f"config.json says {config.num_layers}")
    _assign(model.get_layer(gpt.TOKEN_EMBEDDING).embeddings, tensors["wte.weight"], "wte.weight")
    if "wpe.weight" not in tensors:
        raise UserInputError("model.safetensors lacks wpe.weight")
    _assign(model.get_layer(gpt.POSITION_EMBEDDING).embeddings, tensors["wpe.weight"], "wpe.weight")
    for index in range(config.num_layers):
        _load_block(model.get_layer(f"{gpt.BLOCK_PREFIX}{index}"), tensors, index, config.num_heads)
    _load_norm(model.get_layer(gpt.FINAL_NORM), tensors, "ln_f")
    if not config.tie_weights:
        if "lm_head.weight" not in tensors:
            raise UserInputError("tie_word_embeddings is false but model.safetensors has no lm_head.weight")
        # torch Linear stores (out, in).
        _assign(model.get_layer(gpt.LM_HEAD).kernel, np.transpose(tensors["lm_head.weight"]), "lm_head.weight")
    return model


def load_gpt2_tokenizer(directory):
    """GPT-2's exact tokenizer from ``vocab.json`` and ``merges.txt``."""
    from keras_llm.tokenizers import END_TOKEN, GPT2Tokenizer

    vocabulary = _read_json(directory, "vocab.json")
    merges_path = os.path.join(directory, "merges.txt")
    if not os.path.isfile(merges_path):
        raise UserInputError(f"no merges.txt in {directory}; a GPT-2 tokenizer needs vocab.json and merges.txt")
    with open(merges_path, encoding="utf-8") as handle:
        merges = [line.rstrip("\n") for line in handle if line.strip()]
    return GPT2Tokenizer(vocabulary, merges, special_tokens=[END_TOKEN] if END_TOKEN in vocabulary else [])


def load_hf_gpt2(directory):
    """``(model, tokenizer)`` from a Hugging Face GPT-2 directory.

    The model is ``build_gpt(config)`` with the checkpoint's weights (logits equal PyTorch's to
    float32 round-off); the tokenizer is a :class:`~keras_llm.tokenizers.GPT2Tokenizer`.

    Args:
        directory: holds ``config.json``, ``model.safetensors``, ``vocab.json`` and ``merges.txt``.

    Returns:
        ``(keras.Model, GPT2Tokenizer)``; the model maps int ``(batch, seq_len ≤ n_positions)`` to
        ``(batch, seq_len, vocab_size)`` logits.

    Example:
        >>> model, tokenizer = load_hf_gpt2("gpt2")     # a downloaded openai-community/gpt2
        >>> model(np.array([tokenizer.encode("Hello world")])).shape
        (1, 2, 50257)
    """
    if not os.path.isdir(directory):
        raise UserInputError(f"not a directory: {directory}")
    config = gpt2_config_from_hf(directory)
    tokenizer = load_gpt2_tokenizer(directory)
    if tokenizer.vocab_size > config.vocab_size:
        raise UserInputError(f"{directory}: vocab.json has {tokenizer.vocab_size} tokens, more than the model's "
                             f"vocab_size {config.vocab_size}")
    model = gpt.build_gpt(config)
    load_hf_gpt2_weights(model, directory, config)
    return model, tokenizer
