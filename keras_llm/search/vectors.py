"""Nearest documents of query vectors: exact (a matmul and a top-k) or approximate (faiss).

Every vector is L2-normalised, so the inner product is the cosine similarity and the best
document has the largest score. Exact search reads the whole document matrix per query batch,
which is the right choice up to tens of thousands of documents (2,067 SQuAD paragraphs: well
under a millisecond per query, docs/benchmarks.md). Past :data:`AUTO_ANN_MIN` documents
``ann="auto"`` builds a faiss HNSW graph, whose recall against exact search is measured in
tests/search/test_vectors.py and the retrieval benchmark.

faiss is imported only when an approximate index is built or read, so exact search needs numpy only.

Example:
    >>> rows, scores = exact_top_k(document_vectors, query_vectors, k=5)   # (queries, 5) each
    >>> ann = build_ann(document_vectors, "hnsw")
    >>> rows, scores = ann_top_k(ann, query_vectors, k=5)
"""

import math

import numpy as np

from keras_llm.errors import UserInputError

ANN_CHOICES = ("auto", "exact", "hnsw", "ivf")
# Below this many documents exact search is fast enough that an approximation buys nothing.
AUTO_ANN_MIN = 50_000
HNSW_NEIGHBOURS = 32  # faiss' M: links per node; 32 is the usual quality/memory balance for ~400-d vectors
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128  # candidates kept while searching; raised to k when k is larger
IVF_MIN_POINTS_PER_LIST = 39  # faiss' own minimum of training points per cluster


def ann_kind(requested, num_documents):
    """``"exact"``, ``"hnsw"`` or ``"ivf"`` for ``requested`` (one of :data:`ANN_CHOICES`)."""
    if requested not in ANN_CHOICES:
        raise UserInputError(f"ann must be one of {', '.join(ANN_CHOICES)}; got {requested!r}")
    if requested == "auto":
        return "hnsw" if num_documents >= AUTO_ANN_MIN else "exact"
    return requested


def exact_top_k(documents, queries, k):
    """Exact inner-product search.

    Args:
        documents: float32 ``(n, dim)``.
        queries: float32 ``(q, dim)``.
        k: results per query, ``1 <= k <= n``.

    Returns:
        ``(rows, scores)``: int64 and float32 ``(q, k)``, best first.
    """
    scores = np.asarray(queries, np.float32) @ np.asarray(documents, np.float32).T
    k = int(k)
    # argpartition finds the k best in O(n); only those k are sorted.
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else np.argsort(-scores, axis=1)
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1).astype(np.int64), np.take_along_axis(part_scores, order, axis=1)


def _faiss():
    try:
        import faiss
    except ImportError:
        raise UserInputError("approximate search needs faiss: `pip install faiss-cpu`") from None
    return faiss


def build_ann(documents, kind):
    """A faiss index over ``documents`` (float32 ``(n, dim)``, unit rows) of ``kind`` ``"hnsw"`` or ``"ivf"``.

    HNSW (a graph; no training) is the default approximation. IVF clusters the vectors into
    ``~4·sqrt(n)`` lists (fewer when there are not 39 training points per list) and searches the
    nearest eighth of them (at least 8).
    """
    faiss = _faiss()
    documents = np.ascontiguousarray(documents, np.float32)
    count, dim = documents.shape
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind == "ivf":
        lists = max(1, min(int(4 * math.sqrt(count)), count // IVF_MIN_POINTS_PER_LIST))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        index.train(documents)
        index.nprobe = min(lists, max(8, lists // 8))
    else:
        raise UserInputError(f"no approximate index of kind {kind!r}; expected hnsw or ivf")
    index.add(documents)
    return index


def ann_top_k(index, queries, k):
    """``(rows, scores)`` like :func:`exact_top_k`, from a faiss index; a row of -1 means the
    approximation found fewer than ``k`` documents (IVF when the probed lists hold fewer)."""
    faiss = _faiss()
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = max(HNSW_EF_SEARCH, int(k))
    scores, rows = index.search(np.ascontiguousarray(queries, np.float32), int(k))
    return rows.astype(np.int64), scores.astype(np.float32)


def save_ann(index, path):
    _faiss().write_index(index, str(path))


def load_ann(path):
    return _faiss().read_index(str(path))


def recall_against_exact(approximate_rows, exact_rows):
    """Mean fraction of each query's exact top-k rows that the approximation also returned."""
    hits = [len(set(a.tolist()) & set(e.tolist())) / len(e) for a, e in zip(approximate_rows, exact_rows)]
    return float(np.mean(hits)) if hits else 1.0
