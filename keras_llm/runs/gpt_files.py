"""A trained language-model run (GPT or RNN LM) applied to files: perplexity of a held-out text,
completions of a prompts file.

    evaluate_gpt_run("runs/gpt-shakespeare-char", "held_out.txt")          # metrics.json + report
    predict_gpt_file("runs/gpt-shakespeare-char", "prompts.txt", "completions.txt", options)

The test text is scored over every token with strided windows
(:mod:`keras_llm.evaluation.perplexity`); the default stride is half the context, the usual
choice of the strided recipe: every token after the first window sees at least half a window of
context, for twice the forward passes of non-overlapping windows (stride 1 would cost ``L`` times).
"""

import os
import random

import numpy as np

from keras_llm.data.text import read_user_file
from keras_llm.errors import UserInputError
from keras_llm.evaluation.perplexity import (
    check_stride,
    count_windows,
    language_model_metrics,
    strided_negative_log_likelihood,
)
from keras_llm.evaluation.prediction_files import (
    RecordFile,
    check_output_file,
    check_writable_directory,
)
from keras_llm.evaluation.progress import Progress
from keras_llm.evaluation.report import default_output_dir, write_evaluation
from keras_llm.files import atomic_output
from keras_llm.generation import beam_generate, generate
from keras_llm.generation.rnn_generate import generate_rnn
from keras_llm.runs.file_commands import batches
from keras_llm.runs.layout import load_trained_run, read_run_info
from keras_llm.runs.lm_cache import cached_test_nats, check_cache_request
from keras_llm.runs.rnn_lm import RNN_LM
from keras_llm.tokenizers import WordTokenizer

LANGUAGE_MODELS = ("gpt", RNN_LM)  # the run.json ``model:`` values these commands read


def read_language_model_info(run_dir):
    """run.json of a GPT or RNN LM run (anything else is refused in one line)."""
    info = read_run_info(run_dir)
    if info.get("model") not in LANGUAGE_MODELS:
        raise UserInputError(f"{run_dir} holds a {info.get('model')!r} run, not a language-model (GPT or RNN) run")
    return info


def load_language_model_run(run_dir, which="best"):
    """``(model, tokenizer, run_info)`` of a GPT or RNN LM run."""
    return load_trained_run(run_dir, read_language_model_info(run_dir)["model"], which)


def context_length(info):
    """Tokens per scoring window: a GPT's context; an RNN LM's training window (its state restarts per window)."""
    if info["model"] == RNN_LM:
        return int(info["sequence_length"])
    return int(info["model_config"]["max_length"])


def default_stride(context_length):
    """Half the context (at least 1)."""
    return max(context_length // 2, 1)


def _test_token_ids(tokenizer, text, path):
    ids = tokenizer.encode(text)
    if len(ids) < 2:
        raise UserInputError(f"test file {path} has {len(ids)} token{'s' if len(ids) != 1 else ''} the run's "
                             f"tokenizer knows; perplexity needs at least 2 (is it text like the training corpus?)")
    return ids


def scored_characters(tokenizer, ids):
    """``(characters the ids spell, characters after the first token)``: the second is what the scored tokens cover."""
    spelled = len(tokenizer.decode(ids))
    return spelled, spelled - len(tokenizer.decode(ids[:1]))


def evaluate_gpt_run(run_dir, test_file, output_dir=None, stride=None, batch_size=None, cache_window=None,
                     log=print):
    """Score the run's ``best.keras`` on ``test_file`` (UTF-8 text); write metrics.json, TensorBoard, report.

    Args:
        run_dir: a finished (or at least checkpointed) GPT run directory.
        test_file: held-out UTF-8 text, read whole (tokenized like the training corpus).
        output_dir: default ``<run_dir>/evaluation/<test file stem>``.
        stride: window step in tokens (default :func:`default_stride`), at most the context.
        batch_size: windows per forward pass (default the run's training batch size).
        cache_window: RNN LM runs: mix in a continuous cache over the last ``cache_window`` tokens,
            tuned on the run's validation text (:mod:`keras_llm.runs.lm_cache`); the headline
            numbers are then the cache's, and ``metrics["cache"]`` has the model's alone.

    Returns:
        The metrics dict (also in ``<output_dir>/metrics.json``).
    """
    info = read_language_model_info(run_dir)
    if cache_window is not None:
        check_cache_request(cache_window, info)
    context = context_length(info)
    stride = default_stride(context) if stride is None else stride
    check_stride(stride, context)
    text = read_user_file(test_file, "test file")
    if not text.strip():
        raise UserInputError(f"test file is empty: {test_file}")
    output_dir = check_writable_directory(output_dir or default_output_dir(run_dir, test_file))
    model, tokenizer, info = load_language_model_run(run_dir)
    ids = _test_token_ids(tokenizer, text, test_file)
    batch_size = batch_size or int(info.get("training", {}).get("batch_size", 32))
    cache = None
    if cache_window is None:
        progress = Progress(count_windows(len(ids), context, stride), "scoring", unit="windows")
        total_nats, scored = strided_negative_log_likelihood(model, ids, context, stride, batch_size,
                                                             on_batch=progress.advance)
        progress.close()
    else:
        total_nats, scored, cache = cached_test_nats(model, tokenizer, info, ids, context, stride, batch_size,
                                                     cache_window, log=log)
    counts = {"tokens": len(ids), "tokens_scored": scored, "characters": len(text)}
    if isinstance(tokenizer, WordTokenizer):
        # Words outside the training vocabulary are one class, [UNK], scored like any other token; the
        # characters [UNK] stands for are not spelled, so bits per character would not mean anything here.
        characters_scored = None
        counts["unknown_tokens"] = int(np.sum(np.asarray(ids[1:]) == tokenizer.unknown_token_id))
    else:
        spelled, characters_scored = scored_characters(tokenizer, ids)
        counts.update(characters_scored=characters_scored, characters_not_in_vocabulary=len(text) - spelled)
    counts["windows"] = count_windows(len(ids), context, stride)
    metrics = {**language_model_metrics(total_nats, scored, characters_scored), "counts": counts,
               "settings": {"run_dir": os.path.abspath(run_dir), "test_file": os.path.abspath(test_file),
                            "model": info["model"], "model_file": "best.keras", "context_length": context,
                            "stride": stride, "tokenizer": type(tokenizer).__name__,
                            "vocabulary_size": tokenizer.vocab_size}}
    if cache is not None:
        metrics["cache"] = cache
    step = int(info.get("training", {}).get("steps", 0))
    write_evaluation(run_dir, output_dir, metrics, _report(metrics), step=step, log=log)
    return metrics


def _tokens(count):
    return f"{count:,} token{'' if count == 1 else 's'}"


def _report(metrics):
    counts, settings = metrics["counts"], metrics["settings"]
    lines = [f"{settings['test_file']}: {counts['tokens']:,} tokens ({settings['tokenizer']}), "
             f"{counts['tokens_scored']:,} scored in {counts['windows']:,} windows of {settings['context_length']} "
             f"with stride {settings['stride']} (every token after the first window sees at least "
             f"{_tokens(settings['context_length'] - settings['stride'] + 1)} of context)",
             f"cross-entropy    {metrics['cross_entropy']:.4f} nats/token",
             f"perplexity       {metrics['perplexity']:.3f}",
             f"bits per token   {metrics['bits_per_token']:.4f}"]
    if metrics["bits_per_character"] is not None:
        lines.append(f"bits per char    {metrics['bits_per_character']:.4f} "
                     f"(over the {counts['characters_scored']:,} characters the scored tokens spell)")
    if "cache" in metrics:
        cache = metrics["cache"]
        lines.append(f"with a continuous cache of the last {cache['window']:,} tokens (theta {cache['theta']}, "
                     f"lambda {cache['lam']}, tuned on the run's validation text); the model alone: perplexity "
                     f"{cache['test_perplexity_without_cache']:.3f}")
    if "unknown_tokens" in counts:
        lines.append(f"unknown words    {counts['unknown_tokens']:,} of the {counts['tokens_scored']:,} scored tokens "
                     f"({counts['unknown_tokens'] / counts['tokens_scored']:.2%}) are outside the training "
                     f"vocabulary of {settings['vocabulary_size']:,}; each is scored as the one class [UNK]")
    if counts.get("characters_not_in_vocabulary"):
        lines.append(f"note: {counts['characters_not_in_vocabulary']:,} characters of the file are not in the "
                     f"run's vocabulary; the tokenizer drops them, so they are not scored")
    return "\n".join(lines)


def predict_gpt_file(run_dir, input_file, output_file, options, batch_size=None, text_column=None, log=print):
    """Complete every prompt of ``input_file``; write ``output_file`` in the same format (atomically).

    Args:
        run_dir: a GPT run directory.
        input_file: text (one prompt per line), ``.jsonl`` or ``.csv``/``.tsv`` with a ``text_column``
            (default ``"prompt"``) — see :mod:`keras_llm.evaluation.prediction_files`.
        output_file: the input's records with the completion (new text only) added as ``completion``.
        options: :class:`~keras_llm.generation.DecodingOptions` (e.g. ``runs.gpt.decoding_options``).
            Sampling uses ``seed + batch number`` per batch (a random seed when ``seed`` is None,
            logged), so a file's completions can be made again.
        batch_size: prompts per batch (default the run's training batch size).

    Returns:
        The number of prompts completed.
    """
    read_language_model_info(run_dir)
    records = RecordFile(input_file, field=text_column or "prompt")
    total = records.count()
    check_output_file(output_file, input_file)
    model, tokenizer, info = load_language_model_run(run_dir)
    batch_size = batch_size or int(info.get("training", {}).get("batch_size", 32))
    seed = random.randrange(2**31) if options.seed is None else options.seed
    if info["model"] == RNN_LM:
        complete = generate_rnn
    else:
        complete = beam_generate if options.num_beams > 1 else generate
    progress = Progress(total, "generating", unit="prompts")
    with atomic_output(output_file, newline="") as handle:
        writer = records.writer(handle, "completion")
        for number, batch in enumerate(batches(records.records(), batch_size)):
            batch_options = options if options.greedy else options.replace(seed=seed + number)
            completions = complete(model, tokenizer, [text for _, text in batch], batch_options)
            for (record, _), completion in zip(batch, completions):
                writer.write(record, completion)
            progress.advance(len(batch))
    progress.close()
    how = "greedy" if options.greedy else f"sampled with seed {seed} (+ batch number)"
    log(f"{total:,} completions ({how}, at most {options.max_new_tokens} new tokens) written to {output_file}")
    return total
