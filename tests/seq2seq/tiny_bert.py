"""A tiny random BERT written as a Hugging Face directory (config.json, vocab.txt, model.safetensors),
so warm-start tests run in seconds without a download: the inverse of keras_llm.checkpoints.hf_bert."""

import json
import os

import numpy as np
from safetensors.numpy import save_file

from keras_llm.models.bert import BLOCK_PREFIX, BertConfig, build_bert_backbone

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _linear(dense, name):
    kernel = np.asarray(dense.kernel)
    return {f"{name}.weight": kernel.reshape(-1, kernel.shape[-1]).T.copy(), f"{name}.bias": np.asarray(dense.bias)}


def _attention_tensors(attention, prefix):
    tensors = {}
    for dense, name in ((attention.query_dense, "query"), (attention.key_dense, "key"),
                        (attention.value_dense, "value")):
        kernel = np.asarray(dense.kernel)  # (in, heads, head_dim)
        tensors[f"{prefix}.self.{name}.weight"] = kernel.reshape(kernel.shape[0], -1).T.copy()
        tensors[f"{prefix}.self.{name}.bias"] = np.asarray(dense.bias).reshape(-1)
    kernel = np.asarray(attention.output_dense.kernel)  # (heads, head_dim, out)
    tensors[f"{prefix}.output.dense.weight"] = kernel.reshape(-1, kernel.shape[-1]).T.copy()
    tensors[f"{prefix}.output.dense.bias"] = np.asarray(attention.output_dense.bias)
    return tensors


def _norm(layer, name):
    return {f"{name}.weight": np.asarray(layer.gamma), f"{name}.bias": np.asarray(layer.beta)}


def write_tiny_bert(directory, words, hidden_dim=16, num_layers=2, num_heads=2, max_length=64, seed=0):
    """Write a random BERT over ``SPECIAL + words`` into ``directory``; returns ``(directory, vocabulary)``."""
    import keras

    keras.utils.set_random_seed(seed)
    vocabulary = SPECIAL + list(words)
    config = BertConfig(vocab_size=len(vocabulary), hidden_dim=hidden_dim, num_layers=num_layers,
                        num_heads=num_heads, intermediate_dim=2 * hidden_dim, max_length=max_length)
    backbone = build_bert_backbone(config)
    # Random LayerNorm parameters too, so a norm copied to the wrong place shows.
    rng = np.random.default_rng(seed)
    for layer in backbone.layers:
        for variable in layer.weights:
            if variable.path.endswith(("gamma", "beta")) or "segment" in variable.path:
                variable.assign(rng.normal(1.0 if "gamma" in variable.path else 0.0, 0.2,
                                                                   variable.shape).astype("float32"))
    table = lambda name: np.asarray(backbone.get_layer(name).embeddings)  # noqa: E731
    tensors = {"embeddings.word_embeddings.weight": table("token_embedding"),
               "embeddings.position_embeddings.weight": table("position_embedding"),
               "embeddings.token_type_embeddings.weight": table("segment_embedding"),
               **_norm(backbone.get_layer("embeddings_norm"), "embeddings.LayerNorm"),
               **_linear(backbone.get_layer("pooler"), "pooler.dense")}
    for index in range(num_layers):
        block, prefix = backbone.get_layer(f"{BLOCK_PREFIX}{index}"), f"encoder.layer.{index}"
        tensors.update(_attention_tensors(block.self_attention, f"{prefix}.attention"))
        tensors.update(_norm(block.self_attention_norm, f"{prefix}.attention.output.LayerNorm"))
        tensors.update(_linear(block.feed_forward.intermediate_dense, f"{prefix}.intermediate.dense"))
        tensors.update(_linear(block.feed_forward.output_dense, f"{prefix}.output.dense"))
        tensors.update(_norm(block.feed_forward_norm, f"{prefix}.output.LayerNorm"))
    os.makedirs(directory, exist_ok=True)
    save_file({f"bert.{name}": np.ascontiguousarray(value, dtype="float32") for name, value in tensors.items()},
              os.path.join(directory, "model.safetensors"))
    hf_config = {"model_type": "bert", "vocab_size": len(vocabulary), "hidden_size": hidden_dim,
                 "num_hidden_layers": num_layers, "num_attention_heads": num_heads,
                 "intermediate_size": 2 * hidden_dim, "max_position_embeddings": max_length, "type_vocab_size": 2,
                 "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "layer_norm_eps": 1e-12}
    with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(hf_config, handle)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(vocabulary) + "\n")
    with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as handle:
        json.dump({"do_lower_case": True}, handle)
    return str(directory), vocabulary
