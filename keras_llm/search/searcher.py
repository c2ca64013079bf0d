"""Search an index: queries → the best documents, each as ``(id, score, text)``.

:func:`search_index` is the one call other commands build on (`keras-llm search`, `ask`):

    >>> for hits in search_index("squad-index", ["Who founded the university?"], top_k=3):
    ...     for doc_id, score, text in hits:
    ...         print(doc_id, round(score, 3), text[:40])

Queries are embedded by the index's own encoder (loaded once per process and kept), with the
index's window settings; the score is the cosine similarity of query and document. Exact search
is used unless the index was built with an approximate one (``ann``); ``exact=True`` forces it.
"""

import collections

from keras_llm.errors import UserInputError
from keras_llm.search.encoders import check_same_encoder, load_encoder
from keras_llm.search.index_files import read_index, read_index_meta
from keras_llm.search.vectors import ann_top_k, exact_top_k

SearchHit = collections.namedtuple("SearchHit", ["id", "score", "text"])

# Encoders loaded in this process, by their settings (less the probe): an `ask` loop or a test that
# searches many times loads the model once.
_ENCODERS = {}


def shared_encoder(settings):
    """The encoder of ``settings`` (an :class:`~keras_llm.search.encoders.EncoderSettings`), loaded once per
    process: an `ask` loop or a test that searches many times pays for the model once."""
    key = (settings.model, settings.max_length, settings.long_texts, settings.window_stride, settings.max_windows)
    if key not in _ENCODERS:
        _ENCODERS[key] = load_encoder(settings)
    return _ENCODERS[key]


def check_queries(queries, top_k, num_documents):
    """Refuse (one line each) an empty query list, a blank query, or a ``top_k`` outside ``1..num_documents``."""
    if isinstance(queries, str):
        queries = [queries]
    queries = list(queries)
    if not queries:
        raise UserInputError("no query given")
    for number, query in enumerate(queries, start=1):
        if not isinstance(query, str) or not query.strip():
            which = "the query" if len(queries) == 1 else f"query {number}"
            raise UserInputError(f"{which} is empty or only whitespace")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k <= 0:
        raise UserInputError(f"top-k must be a positive integer; got {top_k!r}")
    if top_k > num_documents:
        raise UserInputError(f"top-k {top_k} is larger than the index's {num_documents} "
                             f"document{'s' * (num_documents != 1)}")
    return queries


class SearchIndex:
    """An index directory loaded for searching.

    Args:
        path: the index directory (see :mod:`keras_llm.search.index_files`).
        encoder: the query encoder; default: the index's model (cached per process). Another model
            than the index's is refused in one line.

    Example:
        >>> index = SearchIndex("faq-index")
        >>> index.search(["opening hours"], top_k=2)[0][0].id
        'c'
    """

    def __init__(self, path, encoder=None):
        self.path = str(path)
        self.contents = read_index(self.path)
        settings = self.contents.encoder
        encoder = encoder or shared_encoder(settings)
        check_same_encoder(settings, encoder, "queries")
        self.encoder = encoder

    def __len__(self):
        return len(self.contents.ids)

    def search(self, queries, top_k=5, exact=False, batch_size=32):
        """Per query (a str or a list of str), a list of up to ``top_k`` :class:`SearchHit`, best first.

        An approximate index may return fewer than ``top_k`` hits for a query.
        """
        queries = check_queries(queries, top_k, len(self))
        vectors = self.encoder.embed(queries, batch_size=batch_size)
        return self.search_vectors(vectors, top_k, exact=exact)

    def search_vectors(self, vectors, top_k=5, exact=False):
        """Like :meth:`search` for query vectors float32 ``(q, dim)`` that are already embedded."""
        if self.contents.ann_index is None or exact:
            rows, scores = exact_top_k(self.contents.vectors, vectors, top_k)
        else:
            rows, scores = ann_top_k(self.contents.ann_index, vectors, top_k)
        return [[SearchHit(self.contents.ids[row], float(score), self.contents.texts[row])
                 for row, score in zip(row_list, score_list) if row >= 0]
                for row_list, score_list in zip(rows, scores)]


def search_index(index_dir, queries, top_k=5, exact=False):
    """Search ``index_dir`` for each of ``queries`` (a str or a list of str).

    Returns:
        one list per query of ``(id, score, text)`` tuples (:class:`SearchHit`), best first;
        ``score`` is the cosine similarity in [-1, 1].

    Raises:
        UserInputError: not an index, a blank query, ``top_k`` not in ``1..documents``, or the
            index's model missing.
    """
    queries = check_queries(queries, top_k, read_index_meta(index_dir)["documents"])  # before loading a model
    return SearchIndex(index_dir).search(queries, top_k=top_k, exact=exact)
