"""Exact top-k against a full sort, and faiss' approximations against exact search."""

import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.search.vectors import (
    AUTO_ANN_MIN,
    ann_kind,
    ann_top_k,
    build_ann,
    exact_top_k,
    load_ann,
    recall_against_exact,
    save_ann,
)


def _unit(rows):
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def clustered():
    """3,000 unit vectors in 40 clusters (like sentence embeddings: not uniform) and 200 queries near them."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 64))
    documents = _unit(centres[rng.integers(0, 40, 3000)] + 0.6 * rng.normal(size=(3000, 64)))
    queries = _unit(centres[rng.integers(0, 40, 200)] + 0.6 * rng.normal(size=(200, 64)))
    return documents, queries


def test_exact_top_k_is_the_head_of_a_full_sort(clustered):
    documents, queries = clustered
    for k in (1, 7, len(documents)):
        rows, scores = exact_top_k(documents, queries, k)
        full = queries @ documents.T
        expected = np.argsort(-full, axis=1, kind="stable")[:, :k]
        np.testing.assert_allclose(scores, np.take_along_axis(full, expected, axis=1), rtol=1e-6)
        assert np.all(np.diff(scores, axis=1) <= 0)
        np.testing.assert_allclose(np.take_along_axis(full, rows, axis=1), scores, rtol=1e-6)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_search_recalls_exact_search(clustered, kind, tmp_path):
    pytest.importorskip("faiss")
    documents, queries = clustered
    exact_rows, _ = exact_top_k(documents, queries, 10)
    index = build_ann(documents, kind)
    save_ann(index, tmp_path / "ann.faiss")
    rows, scores = ann_top_k(load_ann(tmp_path / "ann.faiss"), queries, 10)
    assert recall_against_exact(rows, exact_rows) >= 0.95
    # Scores are exact inner products of the rows found (flat storage, no quantisation).
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ documents.T, rows, axis=1), atol=1e-5)


def test_auto_is_exact_for_small_collections_and_hnsw_for_large_ones():
    assert ann_kind("auto", AUTO_ANN_MIN - 1) == "exact"
    assert ann_kind("auto", AUTO_ANN_MIN) == "hnsw"
    assert ann_kind("ivf", 3) == "ivf"
    with pytest.raises(UserInputError, match="ann must be one of"):
        ann_kind("lsh", 10)


def test_recall_counts_shared_rows():
    assert recall_against_exact(np.array([[1, 2], [3, 4]]), np.array([[2, 1], [3, 5]])) == 0.75
