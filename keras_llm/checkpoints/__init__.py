"""Import of Hugging Face-format checkpoint directories (BERT, GPT-2) (config.json + model.safetensors + vocab),
and finding them (a directory, or ``package:<module>``)."""

from keras_llm.checkpoints.hf_bert import bert_config_from_hf, load_hf_bert, load_hf_bert_weights
from keras_llm.checkpoints.hf_gpt2 import gpt2_config_from_hf, load_gpt2_tokenizer, load_hf_gpt2, load_hf_gpt2_weights
from keras_llm.checkpoints.model_directory import resolve_model_directory

__all__ = ["bert_config_from_hf", "gpt2_config_from_hf", "load_gpt2_tokenizer", "load_hf_bert", "load_hf_bert_weights",
           "load_hf_gpt2", "load_hf_gpt2_weights", "resolve_model_directory"]
