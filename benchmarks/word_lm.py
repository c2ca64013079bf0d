"""Word-level language modelling on ~1M tokens: GPT and LSTM (through `keras-llm`) against a modified-KN 5-gram.

Corpus: the CUAD v1 contracts of ``../shared/data/cuad_contract_types/contracts.jsonl`` (CC BY 4.0,
The Atticus Project; not bundled in the repository: 16 MB). Each contract is normalised (runs of
spaces inside a line become one space, empty lines go), the contracts are shuffled
(``random.Random(0)`` over their ids in sorted order), and whole contracts go to ``train.txt`` until it
holds ``--train-tokens`` word-level tokens, then to ``test.txt`` until that holds ``--test-tokens``.
No contract is in both files.

Vocabulary and OOV convention: every token (word, punctuation mark or line break; the WordTokenizer
of `--tokenizer word`) seen at least ``--min-count`` times in train.txt; every other token is the one
class ``[UNK]``, predicted like any other token. All three models use this very vocabulary (the
N-gram model builds it with the same function the CLI runs use), so their perplexities compare.
Perplexity is over every token of test.txt after the first; line breaks are tokens, so a model
predicts where each line ends. The N-gram model conditions on the previous 4 tokens; the neural
models are scored by `keras-llm evaluate` with strided windows (half-context stride).

The neural runs are the console script: ``keras-llm train <recipe> --corpus train.txt --tokenizer word
--min-count N ...`` (the trainer keeps the last 10% of train.txt for its validation loss, so the
neural models train on 90% of what the N-gram model counts), then ``keras-llm evaluate RUN --test
test.txt`` (the LSTM a second time with ``--cache-window 1000``: a continuous cache tuned on its
validation text, a row of its own). For each, the script records the wall time and the CPU time of the `train` process
(``getrusage(RUSAGE_CHILDREN)``: user + system over all its threads) and the load average sampled
every 10 s while it ran. Results are appended to ``<out>/results.jsonl``; ``--table`` prints them.

    PYTHONPATH=. python benchmarks/word_lm.py --out /work/scratch-wordlm/wordlm --models ngram
    PYTHONPATH=. python benchmarks/word_lm.py --out /work/scratch-wordlm/wordlm --models gpt --steps 3000
    PYTHONPATH=. python benchmarks/word_lm.py --out /work/scratch-wordlm/wordlm --models lstm --steps 3000
    PYTHONPATH=. python benchmarks/word_lm.py --out /work/scratch-wordlm/wordlm --table
"""

import argparse
import json
import os
import random
import re
import resource
import shlex
import subprocess
import sys
import threading
import time

import numpy as np

CUAD = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "cuad_contract_types",
                    "contracts.jsonl")
KEY_STATS = ("perplexity", "cross_entropy")
CACHE_WINDOW = 1000  # tokens of the LSTM's continuous cache (`evaluate --cache-window`)
# The neural runs: recipe and the `keras-llm train` flags other than corpus, tokenizer and steps.
NEURAL = {
    "gpt": ("gpt-shakespeare-char", ["--max-length", "128", "--batch-size", "16", "--learning-rate", "2e-3"]),
    "lstm": ("lstm-lm", []),  # the recipe's defaults: 384 units, 128-wide tied embedding, windows of 128, Muon
}


def normalise(text):
    """One space between the tokens of a line, no empty lines, a final newline."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line) + "\n"


def prepare(out, train_tokens, test_tokens):
    """Write ``train.txt`` and ``test.txt`` (whole contracts) unless they exist; return their paths."""
    train_path, test_path = os.path.join(out, "train.txt"), os.path.join(out, "test.txt")
    if os.path.isfile(train_path) and os.path.isfile(test_path):
        return train_path, test_path
    with open(CUAD, encoding="utf-8") as handle:
        contracts = sorted((json.loads(line) for line in handle), key=lambda record: record["id"])
    random.Random(0).shuffle(contracts)
    # A fast count of WordTokenizer's tokens (words with inner apostrophes, single marks, newlines).
    token = re.compile(r"\w+(?:'\w+)*|[^\w\s]|\n")
    parts, counts, which = ([], []), [0, 0], 0
    for contract in contracts:
        text = normalise(contract["text"])
        if counts[which] >= (train_tokens, test_tokens)[which]:
            which += 1
            if which == 2:
                break
        parts[which].append(text)
        counts[which] += len(token.findall(text))
    for path, texts in ((train_path, parts[0]), (test_path, parts[1])):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("".join(texts))
    print(f"wrote {train_path} ({len(parts[0])} contracts, ~{counts[0]:,} tokens) and {test_path} "
          f"({len(parts[1])} contracts, ~{counts[1]:,} tokens)", flush=True)
    return train_path, test_path


class LoadSampler(threading.Thread):
    """Samples the 1-minute load average every ``interval`` seconds until stopped."""

    def __init__(self, interval=10.0):
        super().__init__(daemon=True)
        self.interval, self.samples, self._done = interval, [], threading.Event()

    def run(self):
        while not self._done.is_set():
            self.samples.append(os.getloadavg()[0])
            self._done.wait(self.interval)

    def stop(self):
        self._done.set()
        self.join()
        return {"min": min(self.samples), "mean": float(np.mean(self.samples)), "max": max(self.samples)}


def measured(command, log_path):
    """Run ``command`` (a list); return wall seconds, child CPU seconds and the load average while it ran."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler = LoadSampler()
    sampler.start()
    started = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        completed = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - started
    load = sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode:
        sys.exit(f"{shlex.join(command)} failed ({completed.returncode}); see {log_path}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_seconds": wall, "cpu_seconds": cpu, "load_average": load}


def run_ngram(out, train_path, test_path, min_count, orders):
    """Modified-KN N-grams on the CLI runs' vocabulary; one result per order."""
    from keras_llm.data.text import read_text
    from keras_llm.models import NGramLanguageModel
    from keras_llm.runs.gpt import word_tokenizer

    train_text, test_text = read_text(train_path), read_text(test_path)
    tokenizer = word_tokenizer(train_text, min_count)
    train_ids = np.asarray(tokenizer.encode(train_text), np.int64)
    test_ids = np.asarray(tokenizer.encode(test_text), np.int64)
    unknown = int(np.sum(test_ids[1:] == tokenizer.unknown_token_id))
    results = []
    # All of train.txt, and the first 90% of its tokens: exactly what the neural models train on (the
    # trainer keeps the rest for its validation loss; split_train_validation cuts the same way).
    for order, counted in [(order, part) for order in orders for part in ("all", "90%")]:
        counted_ids = train_ids if counted == "all" else train_ids[:int(len(train_ids) * 0.9)]
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        lm = NGramLanguageModel(order).fit(counted_ids, tokenizer.vocab_size)
        # Every token but the first, each from its order - 1 predecessors (as `evaluate` scores the neural
        # models): cross_entropy averages over all tokens, the first one predicted from no history.
        nats = (lm.cross_entropy(test_ids) * len(test_ids) + lm.log_prob([], int(test_ids[0]))) / (len(test_ids) - 1)
        after = resource.getrusage(resource.RUSAGE_SELF)
        results.append({
            "model": f"{order}-gram, modified Kneser-Ney ({counted} of train.txt)", "perplexity": float(np.exp(nats)),
            "cross_entropy": nats, "train_tokens": len(counted_ids), "test_tokens": len(test_ids),
            "unknown_test_tokens": unknown,
            "vocabulary": tokenizer.vocab_size, "min_count": min_count, "wall_seconds": time.perf_counter() - started,
            "cpu_seconds": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "load_average": {"mean": os.getloadavg()[0]},
            "command": f"NGramLanguageModel({order}).fit(train ids).cross_entropy(test ids)"})
        print(json.dumps(results[-1]), flush=True)
    return results


def run_neural(name, out, train_path, test_path, min_count, steps, eval_interval):
    """`keras-llm train` then `keras-llm evaluate`; the train step timed."""
    recipe, flags = NEURAL[name]
    run_dir = os.path.join(out, f"run-{name}-{steps}")
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    train = [script, "train", recipe, "--corpus", train_path, "--tokenizer", "word", "--min-count", str(min_count),
             "--steps", str(steps), "--eval-interval", str(eval_interval), "--eval-batches", "10",
             "--run-dir", run_dir, "--overwrite", *flags]
    timing = measured(train, os.path.join(out, f"train-{name}-{steps}.log"))
    evaluate = [script, "evaluate", run_dir, "--test", test_path]
    eval_timing = measured(evaluate, os.path.join(out, f"evaluate-{name}-{steps}.log"))
    with open(os.path.join(run_dir, "evaluation", "test", "metrics.json"), encoding="utf-8") as handle:
        metrics = json.load(handle)
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as handle:
        info = json.load(handle)
    result = {"model": name, **{key: metrics[key] for key in KEY_STATS}, **timing,
              "evaluate_wall_seconds": eval_timing["wall_seconds"], "steps": steps,
              "test_tokens": metrics["counts"]["tokens"], "unknown_test_tokens": metrics["counts"]["unknown_tokens"],
              "vocabulary": metrics["settings"]["vocabulary_size"], "min_count": min_count,
              "model_config": info["model_config"], "training": info["training"],
              "command": shlex.join(["keras-llm", *train[1:]]) + " && " + shlex.join(["keras-llm", *evaluate[1:]])}
    print(json.dumps(result), flush=True)
    results = [result]
    if name == "lstm":  # the same run with a continuous cache (theta, lambda tuned on its validation text)
        cached_dir = os.path.join(run_dir, "evaluation", "test-cache")
        cached = [script, "evaluate", run_dir, "--test", test_path, "--cache-window", str(CACHE_WINDOW),
                  "--output-dir", cached_dir]
        cache_timing = measured(cached, os.path.join(out, f"evaluate-{name}-cache-{steps}.log"))
        with open(os.path.join(cached_dir, "metrics.json"), encoding="utf-8") as handle:
            cache_metrics = json.load(handle)
        results.append({**result, "model": f"{name} + continuous cache ({CACHE_WINDOW} tokens)",
                        **{key: cache_metrics[key] for key in KEY_STATS}, "cache": cache_metrics["cache"],
                        "evaluate_wall_seconds": cache_timing["wall_seconds"],
                        "evaluate_cpu_seconds": cache_timing["cpu_seconds"],
                        "command": result["command"] + " && " + shlex.join(["keras-llm", *cached[1:]])})
        print(json.dumps(results[-1]), flush=True)
    return results


def table(out):
    """The results as a markdown table (the last result per model)."""
    latest = {}
    with open(os.path.join(out, "results.jsonl"), encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            latest[record["model"]] = record
    print("| model | steps | test perplexity | train wall min | train CPU min | load avg (mean, max) |")
    print("|---|---:|---:|---:|---:|---|")
    for record in latest.values():
        load = record["load_average"]
        print(f"| {record['model']} | {record.get('steps', '')} | {record['perplexity']:.1f} | "
              f"{record['wall_seconds'] / 60:.1f} | {record['cpu_seconds'] / 60:.1f} | "
              f"{load['mean']:.1f}, {load.get('max', load['mean']):.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="scratch folder (data files, runs, results.jsonl)")
    parser.add_argument("--models", default="ngram,gpt,lstm")
    parser.add_argument("--train-tokens", type=int, default=1_000_000)
    parser.add_argument("--test-tokens", type=int, default=100_000)
    parser.add_argument("--min-count", type=int, default=3)
    parser.add_argument("--orders", default="3,5")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--eval-interval", type=int, default=500)
    parser.add_argument("--table", action="store_true", help="only print the table of results.jsonl")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.table:
        return table(args.out)
    train_path, test_path = prepare(args.out, args.train_tokens, args.test_tokens)
    for name in args.models.split(","):
        if name == "ngram":
            results = run_ngram(args.out, train_path, test_path, args.min_count,
                                [int(order) for order in args.orders.split(",")])
        else:
            results = run_neural(name, args.out, train_path, test_path, args.min_count, args.steps,
                                 args.eval_interval)
        with open(os.path.join(args.out, "results.jsonl"), "a", encoding="utf-8") as handle:
            for result in results:
                handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
