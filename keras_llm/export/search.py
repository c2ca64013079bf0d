"""Export an index as a SavedModel that searches it: raw query text in, ids, scores and texts out.

The graph holds everything: the WordPiece tokenizer, the BERT encoder (mean pooling, L2 norm,
windows for long queries, as the library embeds them), and the normalised document matrix with
the documents' ids and texts (as variables, so a large collection goes into ``variables/`` and
not into the 2 GB-limited graph). Search is exact: one matmul and ``tf.math.top_k``.

``serving_default``: ``queries`` (tf.string ``[batch]``) and ``top_k`` (tf.int32 scalar) →
``ids`` (tf.string ``[batch, k]``), ``scores`` (float32 ``[batch, k]``, cosine, best first) and
``texts`` (tf.string ``[batch, k]``), where ``k = min(top_k, documents)``. A ``top_k`` ≤ 0 or a
query that is empty or only whitespace fails the request with InvalidArgument (the message says
which); a SavedModel cannot print a warning, so a ``top_k`` above the collection returns all of it.

Example:
    >>> path = export_search_index(backbone, tokenizer, 256, LongTexts(), vectors, ids, texts,
    ...                            base_dir="saved_models", name="faq-search")
    >>> search = tf.saved_model.load(path).signatures["serving_default"]
    >>> search(queries=tf.constant(["opening hours"]), top_k=tf.constant(3))["ids"].shape
    TensorShape([1, 3])
"""

import numpy as np
import tensorflow as tf

from keras_llm.data.pooled_prediction import pooled_embeddings
from keras_llm.export.classifier import WINDOWS_PER_CALL, SentenceEmbedderModule, backbone_embedding
from keras_llm.export.versions import write_version_atomically


class SearchModule(SentenceEmbedderModule):
    """The exported search (see the module docstring for the signature): the sentence embedder's encoder
    and windows for the queries, plus the index's normalised document matrix, ids and texts."""

    def __init__(self, backbone, tokenizer, max_length, long_texts, vectors, ids, texts):
        super().__init__(backbone, tokenizer, max_length, long_texts)
        self.document_vectors = tf.Variable(np.asarray(vectors, np.float32), trainable=False, name="document_vectors")
        self.document_ids = tf.Variable(tf.constant(list(ids), tf.string), trainable=False, name="document_ids")
        self.document_texts = tf.Variable(tf.constant(list(texts), tf.string), trainable=False, name="document_texts")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="queries"),
                                  tf.TensorSpec([], tf.int32, name="top_k")])
    def serve(self, queries, top_k):
        checks = [
            tf.debugging.assert_positive(top_k, message="top_k must be a positive integer"),
            tf.debugging.assert_positive(tf.strings.length(tf.strings.strip(queries)),
                                         message="a query is empty or only whitespace"),
        ]
        with tf.control_dependencies(checks):
            k = tf.minimum(top_k, tf.shape(self.document_vectors)[0])
        query_vectors, _ = pooled_embeddings(backbone_embedding(self.backbone), self.tokenizer, queries,
                                             self.max_length, self.long_texts, WINDOWS_PER_CALL)
        scores = tf.matmul(query_vectors, self.document_vectors, transpose_b=True)
        best = tf.math.top_k(scores, k=k)
        return {"ids": tf.gather(self.document_ids, best.indices), "scores": best.values,
                "texts": tf.gather(self.document_texts, best.indices)}


def export_search_index(backbone, tokenizer, max_length, long_texts, vectors, ids, texts, base_dir="saved_models",
                        name="search"):
    """Write ``<base_dir>/<name>/<version>/`` (TF Serving's layout, atomically); returns that path.

    Args:
        backbone, tokenizer: the index's encoder (a BERT backbone and its ``WordPieceTokenizer``).
        max_length, long_texts: how the index's texts were read (tokens per window, a
            :class:`~keras_llm.data.windows.LongTexts`); queries are read the same way.
        vectors: float32 ``(n, dim)``, unit rows; ``ids``, ``texts``: ``n`` strings each.
    """
    module = SearchModule(backbone, tokenizer, max_length, long_texts, vectors, ids, texts)
    signatures = {"serving_default": module.serve.get_concrete_function()}
    return write_version_atomically(
        base_dir, name, lambda path: tf.saved_model.save(module, path, signatures=signatures))
