"""The index directory: what `keras-llm index` writes and `search`, `export` and `ask` read.

::

    INDEX_DIR/
      index.json        {"format": "keras-llm-index", "version": 1, "documents": n, "dim": d,
                         "encoder": {model, max_length, long_texts, window_stride, max_windows, probe},
                         "ann": "exact" | "hnsw" | "ivf", "next_auto_id": int}
      documents.jsonl   one {"id": str, "text": str} per line, row i of vectors.npy is line i
      vectors.npy       float32 (n, d), every row of L2 norm 1 (cosine = inner product)
      ann.faiss         the faiss index over vectors.npy (only when "ann" is not "exact")

Every change (a new index, `--append`, a deletion) writes a complete new directory beside the old
one and swaps it in (:func:`keras_llm.files.atomic_directory`), so a crash leaves the old index or the
new one, never a mixture. Ids are unique strings; the row order carries no meaning.

Example:
    >>> index = read_index("faq-index")
    >>> index.ids[:2], index.vectors.shape
    (['q1', 'q2'], (120, 384))
"""

import dataclasses
import json
import os

import numpy as np

from keras_llm.errors import UserInputError
from keras_llm.files import atomic_directory, read_json_object
from keras_llm.search.encoders import EncoderSettings
from keras_llm.search.vectors import build_ann, load_ann, save_ann

FORMAT = "keras-llm-index"
VERSION = 1
INDEX_JSON, DOCUMENTS, VECTORS, ANN_FILE = "index.json", "documents.jsonl", "vectors.npy", "ann.faiss"


@dataclasses.dataclass
class IndexContents:
    """Everything in an index directory (``ann_index``: the faiss index, or ``None`` for exact search)."""

    ids: list
    texts: list
    vectors: np.ndarray
    encoder: EncoderSettings
    ann: str = "exact"
    next_auto_id: int = 0
    ann_index: object = None


def is_index_directory(path):
    """Whether ``path`` holds an ``index.json`` of this format."""
    meta = os.path.join(str(path), INDEX_JSON)
    if not os.path.isfile(meta):
        return False
    try:
        return read_json_object(meta).get("format") == FORMAT
    except UserInputError:
        return False


def write_index(path, contents):
    """Write ``contents`` as the index directory ``path`` (replacing one that is there), atomically.

    The faiss index is rebuilt from the vectors whenever ``contents.ann`` is not ``"exact"``
    (HNSW graphs cannot drop nodes, so appends and deletions rebuild it).
    """
    if len(contents.ids) != len(contents.texts) or len(contents.ids) != len(contents.vectors):
        raise ValueError("ids, texts and vectors differ in length")
    vectors = np.ascontiguousarray(contents.vectors, np.float32)
    with atomic_directory(path) as tmp:
        with open(os.path.join(tmp, DOCUMENTS), "w", encoding="utf-8") as handle:
            for doc_id, text in zip(contents.ids, contents.texts):
                handle.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
        np.save(os.path.join(tmp, VECTORS), vectors)
        if contents.ann != "exact" and len(vectors):
            save_ann(build_ann(vectors, contents.ann), os.path.join(tmp, ANN_FILE))
        meta = {"format": FORMAT, "version": VERSION, "documents": len(contents.ids),
                "dim": int(vectors.shape[1]) if vectors.ndim == 2 else 0, "encoder": contents.encoder.to_json(),
                "ann": contents.ann, "next_auto_id": int(contents.next_auto_id)}
        with open(os.path.join(tmp, INDEX_JSON), "w", encoding="utf-8") as handle:
            json.dump(meta, handle, indent=1)
            handle.write("\n")


def read_index_meta(path):
    """The parsed ``index.json`` of ``path``; one line when ``path`` is not an index."""
    path = str(path)
    meta_path = os.path.join(path, INDEX_JSON)
    if not os.path.isdir(path):
        raise UserInputError(f"index not found: {path} (build one with `keras-llm index`)")
    if not os.path.isfile(meta_path):
        raise UserInputError(f"{path} is not an index directory (no {INDEX_JSON}; build one with `keras-llm index`)")
    meta = read_json_object(meta_path)
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise UserInputError(f"{meta_path} is not a version-{VERSION} keras-llm index")
    return meta


def read_index(path, with_ann=True):
    """An :class:`IndexContents` from the directory ``path`` (``with_ann=False`` skips the faiss file)."""
    meta = read_index_meta(path)
    path = str(path)
    try:
        vectors = np.load(os.path.join(path, VECTORS), allow_pickle=False)
        ids, texts = [], []
        with open(os.path.join(path, DOCUMENTS), encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                ids.append(row["id"])
                texts.append(row["text"])
    except (OSError, ValueError, KeyError) as error:
        raise UserInputError(f"index {path} is damaged ({type(error).__name__}: {error})") from None
    if not len(ids) == len(vectors) == meta["documents"]:
        raise UserInputError(f"index {path} is damaged ({len(ids)} documents, {len(vectors)} vectors, "
                             f"{meta['documents']} in {INDEX_JSON})")
    ann = meta.get("ann", "exact")
    ann_index = load_ann(os.path.join(path, ANN_FILE)) if with_ann and ann != "exact" and len(ids) else None
    return IndexContents(ids=ids, texts=texts, vectors=vectors, encoder=EncoderSettings.from_json(meta["encoder"]),
                         ann=ann, next_auto_id=int(meta.get("next_auto_id", len(ids))), ann_index=ann_index)
