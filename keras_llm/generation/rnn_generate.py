"""Text in, text out for RNN language models: prompts → completions in TensorFlow ops (eager, graph, SavedModel).

The counterpart of :class:`~keras_llm.generation.generate.Generator` for models from
:func:`~keras_llm.models.rnn.build_rnn_lm`. A batch of prompts of different lengths is read token by
token with :func:`~keras_llm.models.rnn.rnn_lm_step`; a row whose prompt has ended keeps its state
(the padding after it is never read), so each row's completion is what that prompt alone would give.
Then ``max_new_tokens`` tokens are chosen with the GPT's sampler
(:func:`~keras_llm.generation.samplers.select_next_token`: greedy, or temperature / top-k / top-p).
An RNN has no context limit, so prompts are never cut.
"""

import random

import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.generation.generate import default_start_token_id
from keras_llm.generation.options import DecodingOptions, options_or
from keras_llm.generation.samplers import select_next_token
from keras_llm.models.rnn import rnn_lm_initial_state, rnn_lm_step
from keras_llm.tokenizers.base import fill_empty_rows


class RNNGenerator(tf.Module):
    """An RNN LM and its tokenizer, completing string prompts (see the module docstring).

    Example:
        >>> generator = RNNGenerator(model, tokenizer)
        >>> generator.complete(tf.constant(["the court"]), DecodingOptions(max_new_tokens=20))
    """

    def __init__(self, model, tokenizer, name=None):
        super().__init__(name=name)
        self.model = model
        self.tokenizer = tokenizer
        self.start_token_id = default_start_token_id(tokenizer)

    def complete(self, prompts, options):
        """strings ``(batch,)`` → completion strings ``(batch,)`` (new text only).

        ``options`` is a :class:`DecodingOptions`; its numbers may be scalar tensors (exports).
        Sampling draws token ``i`` with the stateless seed ``(options.seed, i)``.
        """
        ids = fill_empty_rows(self.tokenizer.tokenize(prompts), self.start_token_id)
        prompt_ids = tf.cast(ids.to_tensor(default_value=0), tf.int32)  # (batch, longest prompt)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        logits, states = self._read_prompts(prompt_ids, lengths)
        new_ids = self._continue(logits, states, options)
        return self.tokenizer.detokenize_continuation(prompts, new_ids)

    def _read_prompts(self, prompt_ids, lengths):
        """Logits after each row's last prompt token ``(batch, vocab)`` and the states there."""
        batch = tf.shape(prompt_ids)[0]
        states = rnn_lm_initial_state(self.model, batch)
        logits = tf.zeros([batch, self.tokenizer.vocab_size], tf.float32)
        for position in tf.range(tf.shape(prompt_ids)[1]):
            tf.autograph.experimental.set_loop_options(
                shape_invariants=[(logits, tf.TensorShape([None, None]))])
            step_logits, step_states = rnn_lm_step(self.model, prompt_ids[:, position], states)
            reading = (position < lengths)[:, None]  # rows whose prompt goes on
            logits = tf.where(reading, step_logits, logits)
            states = [[tf.where(reading, new, old) for new, old in zip(new_layer, old_layer)]
                      for new_layer, old_layer in zip(step_states, states)]
        return logits, states

    def _continue(self, logits, states, options):
        """``options.max_new_tokens`` ids per row after the prompts, ``(batch, max_new_tokens)``."""
        seed = tf.cast(0 if options.seed is None else options.seed, tf.int32)
        chosen = tf.zeros([tf.shape(logits)[0], 0], tf.int32)  # grows by a column per step (0 steps: empty)
        for step in tf.range(tf.cast(options.max_new_tokens, tf.int32)):
            tf.autograph.experimental.set_loop_options(
                shape_invariants=[(chosen, tf.TensorShape([None, None])), (logits, tf.TensorShape([None, None]))])
            token = select_next_token(logits, options, seed=tf.stack([seed, step]))
            chosen = tf.concat([chosen, token[:, None]], axis=1)
            logits, states = rnn_lm_step(self.model, token, states)
        return chosen


def generate_rnn(model, tokenizer, prompts, options=None):
    """Continue each prompt with ``options.max_new_tokens`` tokens of an RNN LM (one beam).

    Args:
        model: an RNN LM from :func:`~keras_llm.models.rnn.build_rnn_lm` (or loaded from ``.keras``).
        tokenizer: the tokenizer it was trained with.
        prompts: a string or a list of strings.
        options: :class:`DecodingOptions` (default greedy, 100 new tokens); ``num_beams`` must be 1.

    Returns:
        The completion (new text only): a string, or a list of strings for a list of prompts.

    Example:
        >>> generate_rnn(model, tokenizer, ["the court"], DecodingOptions(strategy="sample", seed=1))
    """
    options = options_or(options, DecodingOptions())
    if options.max_new_tokens is None:
        raise UserInputError("generate needs max_new_tokens (an int >= 0)")
    if options.num_beams != 1:
        raise UserInputError("RNN language models decode one beam (greedy or sampled); beam search is for GPTs")
    if options.seed is None and not options.greedy:
        options = options.replace(seed=random.randrange(2**31))
    single = isinstance(prompts, str)
    completions = RNNGenerator(model, tokenizer).complete(tf.constant([prompts] if single else list(prompts)),
                                                          options)
    texts = [text.decode("utf-8") for text in completions.numpy()]
    return texts[0] if single else texts
