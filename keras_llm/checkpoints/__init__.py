"""Import of Hugging Face-format checkpoint directories (config.json + model.safetensors + vocab)."""

from keras_llm.checkpoints.hf_bert import bert_config_from_hf, load_hf_bert, load_hf_bert_weights

__all__ = ["bert_config_from_hf", "load_hf_bert", "load_hf_bert_weights"]
