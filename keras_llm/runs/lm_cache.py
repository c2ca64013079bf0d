"""`keras-llm evaluate RUN --test FILE --cache-window N`: an RNN LM run scored with a continuous cache.

The cache (:mod:`keras_llm.evaluation.continuous_cache`) has two numbers, ``theta`` and ``lambda``,
that must not be chosen on the test file. They are tuned on the run's own validation text: the last
10% of the training corpus (recorded in run.json), which the trainer held out for its validation loss
and the weights never trained on. Then the test file is scored once with them.

Example:
    >>> nats, scored, settings = cached_test_nats(model, tokenizer, info, ids, context=128, stride=64,
    ...                                           batch_size=16, window=1000)
"""

import dataclasses
import os

from keras_llm.data import split_train_validation
from keras_llm.data.text import read_text
from keras_llm.errors import UserInputError
from keras_llm.evaluation.continuous_cache import check_window, perplexity_of, tune_cache
from keras_llm.evaluation.perplexity import count_windows, strided_token_scores
from keras_llm.evaluation.progress import Progress
from keras_llm.models.rnn import rnn_lm_with_states
from keras_llm.runs.rnn_lm import RNN_LM


def check_cache_request(window, info):
    """One line, before any model is loaded, if a cache cannot be used for this run."""
    check_window(window)
    if info.get("model") != RNN_LM:
        raise UserInputError(f"--cache-window scores RNN language-model runs (lstm-lm); this is a "
                             f"{info.get('model')!r} run")


def _validation_ids(tokenizer, info):
    corpus = info.get("corpus")
    if not corpus or not os.path.isfile(corpus):
        raise UserInputError(f"--cache-window tunes the cache on the run's validation text (the last 10% of its "
                             f"training corpus {corpus}), and that file is not there any more")
    _, valid = split_train_validation(tokenizer.encode(read_text(corpus)))
    if len(valid) < 2:
        raise UserInputError(f"the run's validation text ({corpus}, last 10%) has {len(valid)} tokens; "
                             f"tuning the cache needs at least 2")
    return valid


def _scores(model, ids, context, stride, batch_size, what):
    progress = Progress(count_windows(len(ids), context, stride), what, unit="windows")
    scores = strided_token_scores(model, ids, context, stride, batch_size, on_batch=progress.advance)
    progress.close()
    return scores


def cached_test_nats(model, tokenizer, info, ids, context, stride, batch_size, window, log=print):
    """Summed NLL of ``ids[1:]`` under the RNN LM ``model`` with a cache tuned on the run's validation text.

    Returns:
        ``(total_nats, tokens_scored, cache)`` where ``cache`` is a dict for metrics.json: the window,
        ``theta``, ``lambda``, the test perplexity without the cache, and the tuning numbers.
    """
    with_states = rnn_lm_with_states(model)
    tuning = _scores(with_states, _validation_ids(tokenizer, info), context, stride, batch_size, "tuning cache")
    settings = tune_cache(tuning[1], tuning[2], tuning[0], window)
    log(f"cache: window {window}, theta {settings.theta}, lambda {settings.lam}, tuned on the run's validation "
        f"text ({settings.tuning_tokens:,} tokens: perplexity {settings.tuning_perplexity_without:.2f} without, "
        f"{settings.tuning_perplexity_with:.2f} with)")
    p_model, states, next_ids = _scores(with_states, ids, context, stride, batch_size, "scoring")
    total_nats = settings.apply(states, next_ids, p_model)
    return total_nats, len(next_ids), {**dataclasses.asdict(settings),
                                       "test_perplexity_without_cache": perplexity_of(p_model)}
