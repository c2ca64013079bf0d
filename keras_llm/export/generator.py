"""Export a GPT and its tokenizer as a SavedModel with raw text in and text out."""

import tensorflow as tf

from keras_llm.export.versions import write_version_atomically
from keras_llm.generation import DecodingOptions, Generator

# Upper bound on new tokens per request, so one request cannot hold a server forever.
MAX_NEW_TOKENS_LIMIT = 1024


class TextGeneratorModule(tf.Module):
    """The exported object: signatures ``serving_default`` and ``generate``.

    * ``serving_default(prompts)`` uses the defaults given at export time.
    * ``generate(prompts, max_new_tokens, temperature, top_k, seed)`` exposes them.

    ``prompts``/``completions`` are ``tf.string [batch]``; a completion is the new text
    only. ``temperature <= 0`` decodes greedily (the signature's spelling of greedy; inside,
    it becomes ``DecodingOptions(strategy="greedy")``); ``top_k <= 0`` disables top-k;
    ``max_new_tokens`` is clipped to ``[0, 1024]``. Prompts longer than the context keep
    their last tokens; invalid UTF-8 is replaced, unknown characters are dropped.
    """

    def __init__(self, model, tokenizer, max_new_tokens=100, temperature=0.8, top_k=200, generator=None):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        # Anything with complete(prompts, options): a GPT's Generator, or an RNN LM's RNNGenerator.
        self.generator = generator if generator is not None else Generator(model, tokenizer)
        self.defaults = (int(max_new_tokens), float(temperature), int(top_k))

    def _complete(self, prompts, max_new_tokens, temperature, top_k, seed):
        max_new_tokens = tf.clip_by_value(tf.cast(max_new_tokens, tf.int32), 0, MAX_NEW_TOKENS_LIMIT)
        greedy = DecodingOptions(max_new_tokens=max_new_tokens)
        if isinstance(temperature, (int, float)) and temperature <= 0:
            return {"completions": self.generator.complete(prompts, greedy)}
        sample = greedy.replace(strategy="sample", temperature=temperature, top_k=tf.maximum(top_k, 0),
                                seed=tf.cast(seed, tf.int32))
        if isinstance(temperature, (int, float)):
            return {"completions": self.generator.complete(prompts, sample)}
        # A request's temperature is only known when it is served: both loops are in the graph.
        completions = tf.cond(temperature > 0, lambda: self.generator.complete(prompts, sample),
                              lambda: self.generator.complete(prompts, greedy))
        return {"completions": completions}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompts")])
    def serve(self, prompts):
        max_new_tokens, temperature, top_k = self.defaults
        return self._complete(prompts, max_new_tokens, temperature, top_k, 0)

    @tf.function(input_signature=[
        tf.TensorSpec([None], tf.string, name="prompts"),
        tf.TensorSpec([], tf.int32, name="max_new_tokens"),
        tf.TensorSpec([], tf.float32, name="temperature"),
        tf.TensorSpec([], tf.int32, name="top_k"),
        tf.TensorSpec([], tf.int32, name="seed"),
    ])
    def generate(self, prompts, max_new_tokens, temperature, top_k, seed):
        return self._complete(prompts, max_new_tokens, temperature, top_k, seed)


def export_text_generator(model, tokenizer, base_dir="saved_models", name="gpt", **defaults):
    """Write ``<base_dir>/<name>/<version>/`` (TF Serving layout); returns that path.

    ``defaults`` are :class:`TextGeneratorModule`'s (``generator=RNNGenerator(model, tokenizer)`` for an RNN LM).

    Example:
        >>> path = export_text_generator(model, tokenizer, name="gpt-shakespeare-char")
        >>> tf.saved_model.load(path).signatures["serving_default"](prompts=tf.constant(["ROMEO:"]))
    """
    module = TextGeneratorModule(model, tokenizer, **defaults)
    signatures = {
        "serving_default": module.serve.get_concrete_function(),
        "generate": module.generate.get_concrete_function(),
    }
    return write_version_atomically(
        base_dir, name, lambda path: tf.saved_model.save(module, path, signatures=signatures))
