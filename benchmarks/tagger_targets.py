"""Issue 19's tagger targets: a recipe trained as a user would (`keras-llm train`), timed in wall and CPU time.

Runs ``keras-llm train RECIPE --run-dir OUT/RECIPE`` in a subprocess with the recipe's own
defaults (its ``max_minutes`` bounds the training wall time), records the wall time, the child
process's CPU time (user + system, from ``resource.getrusage``) and the 1-minute load average
sampled every 15 s, then scores the run's best model on the bundled EWT dev split: word
accuracy over all words, and over the words whose form never occurs in ``train.tsv``
("unknown words", case-sensitive). Words are tagged as given (the gold tokens). Writes
``OUT/<recipe>.json`` and prints one table row for docs/benchmarks.md.

Run:
    PYTHONPATH=. .venv/bin/python benchmarks/tagger_targets.py bilstm-pos-ewt --out-dir /tmp/tagger_targets
    PYTHONPATH=. .venv/bin/python benchmarks/tagger_targets.py minilm-pos-ewt --out-dir /tmp/t --batch-size 16
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EWT = os.path.join(HERE, "..", "data", "ud_english_ewt")


def _sample_load(samples, stop):
    while not stop.wait(15):
        samples.append(os.getloadavg()[0])


def train(recipe, run_dir, extra):
    """``(wall seconds, child CPU seconds, load samples)`` of one `keras-llm train` run."""
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    samples, stop = [os.getloadavg()[0]], threading.Event()
    sampler = threading.Thread(target=_sample_load, args=(samples, stop), daemon=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    sampler.start()
    subprocess.run([script, "train", recipe, "--run-dir", run_dir, "--overwrite", *extra], check=True)
    wall = time.perf_counter() - start
    stop.set()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, samples


def score(run_dir):
    """Dev accuracy over all words and over words unseen in train.tsv, tagged as given."""
    import keras_llm  # noqa: F401  (sets the Keras backend)
    from keras_llm.data.conll import read_conll
    from keras_llm.runs.tagger import load_tagger_run
    from keras_llm.runs.tagger_files import TaggerPredictor

    seen = {word for sentence in read_conll(os.path.join(EWT, "train.tsv"), fmt="conll") for word in sentence.words}
    dev = read_conll(os.path.join(EWT, "dev.tsv"), fmt="conll")
    model, tokenizer, info = load_tagger_run(run_dir)
    predictor = TaggerPredictor(model, tokenizer, info)
    counts = {"all": [0, 0], "unknown": [0, 0]}
    for start in range(0, len(dev), 128):
        batch = dev[start:start + 128]
        for sentence, predicted in zip(batch, predictor.tag_sentences([s.words for s in batch])):
            for word, gold, guess in zip(sentence.words, sentence.tags, predicted):
                for key in ("all", "unknown") if word not in seen else ("all",):
                    counts[key][0] += gold == guess
                    counts[key][1] += 1
    return {key: {"accuracy": right / total, "words": total} for key, (right, total) in counts.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--out-dir", required=True)
    args, extra = parser.parse_known_args()  # the rest: more `keras-llm train` options, e.g. --batch-size 16
    run_dir = os.path.join(args.out_dir, args.recipe)
    wall, cpu, load = train(args.recipe, run_dir, extra)
    scores = score(run_dir)
    with open(os.path.join(run_dir, "history.csv"), encoding="utf-8") as handle:
        epochs = sum(1 for _ in handle) - 1
    result = {"recipe": args.recipe, "command": " ".join(sys.argv), "wall_minutes": wall / 60,
              "cpu_minutes": cpu / 60, "load_1min_mean": sum(load) / len(load), "load_1min_max": max(load),
              "epochs_logged": epochs, "dev": scores}
    with open(os.path.join(args.out_dir, f"{args.recipe}.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    print(json.dumps(result))
    print(f"| `{args.recipe}` | {scores['all']['accuracy']:.4f} | {scores['unknown']['accuracy']:.4f} "
          f"({scores['unknown']['words']} words) | {wall / 60:.1f} | {cpu / 60:.1f} | "
          f"{result['load_1min_mean']:.1f} (max {result['load_1min_max']:.1f}) |")


if __name__ == "__main__":
    main()
