"""Decoding: options, samplers, the cached XLA decoding loop, one beam-search core, text in / text out."""

from keras_llm.generation.beam_search import beam_generate, beam_search_ids
from keras_llm.generation.compiled import compiled_function
from keras_llm.generation.decode_loop import decode
from keras_llm.generation.generate import Generator, generate
from keras_llm.generation.gpt_cache import CachedGPT
from keras_llm.generation.options import DecodingOptions
from keras_llm.generation.samplers import filter_logits, select_next_token
from keras_llm.generation.seq2seq_search import translate, translate_ids

__all__ = ["CachedGPT", "DecodingOptions", "Generator", "beam_generate", "beam_search_ids",
           "compiled_function", "decode", "filter_logits", "generate", "select_next_token", "translate",
           "translate_ids"]
