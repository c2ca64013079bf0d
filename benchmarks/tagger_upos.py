"""UPOS tagging of UD English EWT: BiLSTM vs small BERT from scratch vs MiniLM fine-tuning, on a CPU budget.

Each model trains with its zoo recipe (``bilstm-pos-ewt``, ``bert-pos-ewt``, ``minilm-pos-ewt``:
bundled ``train.tsv``, 12,544 sentences) for at most ``--minutes`` of training wall time (the
recipes' ``max_minutes``; the epoch under way is cut short, and its validation still runs), then
the best checkpoint (by validation loss) is scored on the whole EWT dev split (2,001 sentences,
25,147 words): word accuracy over all 17 UPOS tags. Results go to
``benchmarks/results/tagger_upos_<date>.md`` (and ``.json``).

Run (each model ≤ about 8 minutes of wall time on 2 CPU cores):
    .venv/bin/python benchmarks/tagger_upos.py --models bilstm,bert,minilm --minutes 6
"""

import argparse
import datetime
import json
import os
import platform
import time

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
from keras_llm.runs.tagger import train_tagger_run

RECIPES = {"bilstm": "bilstm-pos-ewt", "bert": "bert-pos-ewt", "minilm": "minilm-pos-ewt"}
RESULTS = os.path.join(os.path.dirname(__file__), "results")


def run_one(name, minutes, epochs, out_dir):
    recipe = RECIPES[name]
    overrides = {"max_minutes": minutes}
    if epochs:
        overrides["epochs"] = epochs
    start = time.perf_counter()
    run_dir, history = train_tagger_run(recipe, run_dir=os.path.join(out_dir, recipe), training_overrides=overrides,
                                        verbose=2)
    wall = time.perf_counter() - start
    with open(os.path.join(run_dir, "valid_metrics.json"), encoding="utf-8") as handle:
        metrics = json.load(handle)
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as handle:
        info = json.load(handle)
    return {"model": name, "recipe": recipe, "run_dir": run_dir, "wall_seconds": round(wall, 1),
            "epochs_run": len(history.history["loss"]), "val_accuracy_per_epoch": history.history["val_accuracy"],
            "dev_word_accuracy": metrics["accuracy"], "dev_words": metrics["words"],
            "truncated_words": metrics["truncated_words"], "training": info["training"],
            "model_config": info["model_config"], "init_from": info["init_from"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="bilstm,bert,minilm")
    parser.add_argument("--minutes", type=float, default=6.0, help="training wall-time budget per model")
    parser.add_argument("--epochs", type=int, help="override the recipes' epoch counts")
    parser.add_argument("--out-dir", default="runs/bench_tagger_upos")
    args = parser.parse_args()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for name in args.models.split(","):
        rows.append(run_one(name.strip(), args.minutes, args.epochs, args.out_dir))
        print(json.dumps(rows[-1]))
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}"
    stem = os.path.join(RESULTS, f"tagger_upos_{date[:10]}_{'-'.join(row['model'] for row in rows)}")
    os.makedirs(RESULTS, exist_ok=True)
    with open(stem + ".json", "w", encoding="utf-8") as handle:
        json.dump({"date": date, "machine": machine, "minutes": args.minutes, "rows": rows}, handle, indent=2)
    lines = [f"# UPOS tagging, UD English EWT dev ({date})", "", f"Machine: {machine}. Budget: {args.minutes} min "
             "of training wall time per model.", "", "| model | recipe | epochs run | wall time (s) | dev word "
             "accuracy |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['model']} | {row['recipe']} | {row['epochs_run']} | {row['wall_seconds']} | "
                     f"{row['dev_word_accuracy']:.4f} |")
    with open(stem + ".md", "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
