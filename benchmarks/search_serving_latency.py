"""Latency of an exported search SavedModel at batch 1 and 32 (issue 21, item 5c).

Exports an index with `keras-llm export INDEX_DIR` (timed), then loads the SavedModel in a fresh process
that imports only tensorflow and tensorflow_text (as a server would) and times ``serving_default``
(``queries`` + ``top_k`` = 5) on SQuAD dev questions: a few warm-up calls per batch size, then
``--calls`` timed calls each. Reported: median and 90th-percentile milliseconds per call, and questions/s.
The index is the one benchmarks/retrieval_squad.py builds (2,067 SQuAD paragraphs, all-MiniLM-L6-v2).

    nice -n 19 env PYTHONPATH=. python benchmarks/search_serving_latency.py \\
        --index /work/scratch-search/squad/index --out /work/scratch-search/latency

Results go to ``<out>/results.json``.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SQUAD = os.path.join(HERE, "..", "..", "shared", "data", "squad", "dev-v1.1.json")

SERVER = r"""
import json, os, resource, sys, time
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401
path, questions_file, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
questions = json.load(open(questions_file, encoding="utf-8"))
started = time.perf_counter()
search = tf.saved_model.load(path).signatures["serving_default"]
result = {"load_s": round(time.perf_counter() - started, 2)}
for batch in (1, 32):
    def call(i):
        chunk = [questions[(i * batch + j) % len(questions)] for j in range(batch)]
        return search(queries=tf.constant(chunk), top_k=tf.constant(5))["ids"].numpy()
    for i in range(3):
        call(i)
    times = []
    cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    for i in range(calls):
        start = time.perf_counter()
        call(100 + i)
        times.append(time.perf_counter() - start)
    cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu
    result[f"batch {batch}"] = {"median_ms": round(1000 * float(np.median(times)), 1),
                                "p90_ms": round(1000 * float(np.percentile(times, 90)), 1),
                                "questions_per_s": round(batch * calls / sum(times), 1), "calls": calls,
                                "cpu_s": round(cpu, 1), "wall_s": round(sum(times), 1)}
result["load_average_after"] = os.getloadavg()[0]
print(json.dumps(result))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", required=True, help="an index directory (keras-llm index)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--calls", type=int, default=30, help="timed calls per batch size (default 30)")
    parser.add_argument("--saved-model", help="time this export instead of exporting --index again")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras_llm = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    command = [keras_llm, "export", args.index, "--base-dir", os.path.join(args.out, "models"), "--name", "search"]
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    cpu = sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
    if args.saved_model:
        path, export = args.saved_model, None
    else:
        path = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().split()[-1]
        export = {"command": " ".join(command[1:]), "wall_s": round(time.perf_counter() - started, 1),
                  "cpu_s": round(sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]) - cpu, 1)}
    with open(SQUAD, encoding="utf-8") as handle:
        questions = [qa["question"] for article in json.load(handle)["data"] for paragraph in article["paragraphs"]
                     for qa in paragraph["qas"]]
    questions_file = os.path.join(args.out, "questions.json")
    with open(questions_file, "w", encoding="utf-8") as handle:
        json.dump(questions, handle)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    served = subprocess.run([sys.executable, "-c", SERVER, path, questions_file, str(args.calls)], check=True,
                            capture_output=True, text=True, env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"})
    result = {"export": export, "saved_model": path, "load_average_before": load_before,
              "size_mb": round(sum(os.path.getsize(os.path.join(folder, name)) for folder, _, names in os.walk(path)
                                   for name in names) / 1e6, 1),
              **json.loads(served.stdout.strip().splitlines()[-1]), "command": " ".join(sys.argv)}
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
