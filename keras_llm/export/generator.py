"""Export a GPT and its tokenizer as a SavedModel with raw text in and text out."""

import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.export.versions import write_version_atomically
from keras_llm.generation import DecodingOptions, Generator
from keras_llm.generation.bucketed_decode import BucketedDecoder

# Upper bound on new tokens per request, so one request cannot hold a server forever.
MAX_NEW_TOKENS_LIMIT = 1024

_GENERATE_SIGNATURE = [
    tf.TensorSpec([None], tf.string, name="prompts"),
    tf.TensorSpec([], tf.int32, name="max_new_tokens"),
    tf.TensorSpec([], tf.float32, name="temperature"),
    tf.TensorSpec([], tf.int32, name="top_k"),
    tf.TensorSpec([], tf.int32, name="seed"),
]


class TextGeneratorModule(tf.Module):
    """The exported object: a portable and an XLA-compiled graph of the same decoding.

    Signatures (``prompts``/``completions`` are ``tf.string [batch]``; a completion is the new
    text only):

    * ``complete(prompts)`` and ``complete_xla(prompts)``: the defaults given at export time;
    * ``generate(prompts, max_new_tokens, temperature, top_k, seed)`` and ``generate_xla(...)``:
      every knob per request;
    * ``serving_default``: ``complete`` (portable), or ``complete_xla`` when exported with ``xla=True``.

    The ``_xla`` signatures run XLA-compiled loops (compiled on first use, once per bucket and
    batch size); TF Serving refuses them unless started with ``--xla_cpu_compilation_enabled``.
    Both kinds round a request up to static buckets (prompt width and ``max_new_tokens`` to powers
    of two, see :class:`~keras_llm.generation.bucketed_decode.BucketedDecoder`) and stop at the
    requested count, so they return the same tokens. ``temperature <= 0`` decodes greedily;
    ``top_k <= 0`` disables top-k; ``max_new_tokens`` is clipped to ``[0, 1024]``. Prompts longer
    than the context keep their last tokens; invalid UTF-8 is replaced, unknown characters dropped.
    """

    def __init__(self, model, tokenizer, max_new_tokens=100, temperature=0.8, top_k=200):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.generator = Generator(model, tokenizer)
        self.defaults = (min(max(int(max_new_tokens), 0), MAX_NEW_TOKENS_LIMIT), float(temperature), int(top_k))
        self.portable = BucketedDecoder(self.generator.stepper, MAX_NEW_TOKENS_LIMIT, jit_compile=False)
        self.xla = BucketedDecoder(self.generator.stepper, MAX_NEW_TOKENS_LIMIT, jit_compile=True)

    def _complete(self, decoder, prompts, max_new_tokens, temperature, top_k, seed):
        if not isinstance(max_new_tokens, int):
            max_new_tokens = tf.clip_by_value(tf.cast(max_new_tokens, tf.int32), 0, MAX_NEW_TOKENS_LIMIT)
        new_ids, new_lengths = decoder(self.generator.prompt_rows(prompts), max_new_tokens, temperature <= 0,
                                       temperature, tf.maximum(top_k, 0), seed)
        completions = self.tokenizer.detokenize_continuation(
            prompts, tf.RaggedTensor.from_tensor(new_ids, lengths=new_lengths))
        return {"completions": completions}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompts")])
    def complete(self, prompts):
        return self._complete(self.portable, prompts, *self.defaults, 0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompts")])
    def complete_xla(self, prompts):
        return self._complete(self.xla, prompts, *self.defaults, 0)

    @tf.function(input_signature=_GENERATE_SIGNATURE)
    def generate(self, prompts, max_new_tokens, temperature, top_k, seed):
        return self._complete(self.portable, prompts, max_new_tokens, temperature, top_k, seed)

    @tf.function(input_signature=_GENERATE_SIGNATURE)
    def generate_xla(self, prompts, max_new_tokens, temperature, top_k, seed):
        return self._complete(self.xla, prompts, max_new_tokens, temperature, top_k, seed)

    def signatures(self, xla=False):
        """The SavedModel signatures: name → concrete function (``serving_default`` per ``xla``)."""
        functions = {"complete": self.complete, "complete_xla": self.complete_xla, "generate": self.generate,
                     "generate_xla": self.generate_xla}
        signatures = {name: function.get_concrete_function() for name, function in functions.items()}
        signatures["serving_default"] = signatures["complete_xla" if xla else "complete"]
        return signatures


class RecurrentGeneratorModule(tf.Module):
    """The exported object of an RNN language model: ``complete(prompts)`` (= ``serving_default``) and
    ``generate(prompts, max_new_tokens, temperature, top_k, seed)``, as :class:`TextGeneratorModule`'s
    portable signatures. ``generator`` is the run's ``RNNGenerator`` (anything with
    ``complete(prompts, options)``); its loop steps the recurrent state op by op, so there are no
    shape buckets and no XLA signatures.
    """

    def __init__(self, model, tokenizer, generator, max_new_tokens=100, temperature=0.8, top_k=200):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.generator = generator
        self.defaults = (min(max(int(max_new_tokens), 0), MAX_NEW_TOKENS_LIMIT), float(temperature), int(top_k))

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
    def complete(self, prompts):
        return self._complete(prompts, *self.defaults, 0)

    @tf.function(input_signature=_GENERATE_SIGNATURE)
    def generate(self, prompts, max_new_tokens, temperature, top_k, seed):
        return self._complete(prompts, max_new_tokens, temperature, top_k, seed)

    def signatures(self, xla=False):
        """The SavedModel signatures; ``xla`` is refused (a recurrent loop has no XLA signatures)."""
        if xla:
            raise UserInputError("--xla: XLA-compiled signatures are exported for GPT generators and "
                                 "translators; an RNN language model exports the portable ones only")
        signatures = {"complete": self.complete.get_concrete_function(),
                      "generate": self.generate.get_concrete_function()}
        signatures["serving_default"] = signatures["complete"]
        return signatures


def export_text_generator(model, tokenizer, base_dir="saved_models", name="gpt", xla=False, generator=None,
                          **defaults):
    """Write ``<base_dir>/<name>/<version>/`` (TF Serving layout); returns that path.

    ``xla=True`` makes the XLA-compiled ``complete_xla`` the ``serving_default`` (the server then
    needs ``--xla_cpu_compilation_enabled``); both kinds are in every export. ``generator``: an RNN LM's
    ``RNNGenerator`` (exported by :class:`RecurrentGeneratorModule`, portable signatures only).

    Example:
        >>> path = export_text_generator(model, tokenizer, name="gpt-shakespeare-char")
        >>> tf.saved_model.load(path).signatures["serving_default"](prompts=tf.constant(["ROMEO:"]))
    """
    module = (TextGeneratorModule(model, tokenizer, **defaults) if generator is None
              else RecurrentGeneratorModule(model, tokenizer, generator, **defaults))
    signatures = module.signatures(xla=xla)
    return write_version_atomically(
        base_dir, name, lambda path: tf.saved_model.save(module, path, signatures=signatures))
