"""`keras-llm train seq2seq` on JSON Lines (named fields, sentence lists, several references), then
`evaluate` (ROUGE best-of-references, BLEU with every reference), TensorBoard's ROUGE scalars and example
summaries, and bad input in one line; `-m slow`: predict, summarize with constraints, export, BERT2BERT."""

import csv
import json

import pytest
from tensorboard.backend.event_processing import event_accumulator

from tests.conftest import assert_one_line_error, run_cli

TOPICS = ["graphs", "images", "speech", "proteins", "robots", "markets"]


def _record(index, references):
    topic = TOPICS[index % len(TOPICS)]
    sentences = [f"We study {topic} with model {index} .", f"Our method for {topic} is fast .",
                 "Experiments show gains ."]
    return {"id": index, "abstract": sentences, "tldr": [f"a fast method for {topic} ."] + references}


def _write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def seq2seq_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("seq2seq")
    train = _write_jsonl(root / "train.jsonl", [_record(i, []) for i in range(24)])
    valid = [_record(i, [f"{TOPICS[i % 6]} made fast ."]) for i in range(4)]
    valid[0]["abstract"] = valid[0]["abstract"] * 4  # longer than the model's 40 source tokens: truncated
    valid = _write_jsonl(root / "valid.jsonl", valid)
    done = run_cli("train", "seq2seq", "--pairs", train, "--valid", valid, "--source-field", "abstract",
                   "--target-field", "tldr", "--run-dir", root / "run", "--steps", "4", "--eval-interval", "2",
                   "--eval-batches", "1", "--max-length", "40", "--num-layers", "1", "--hidden-dim", "16", "--no-jit")
    assert done.returncode == 0, done.stderr[-3000:]
    return root, done


def test_training_reads_the_fields_and_counts_truncated_sources(seq2seq_run):
    root, done = seq2seq_run
    info = json.loads((root / "run" / "run.json").read_text(encoding="utf-8"))
    assert (info["source_field"], info["target_field"], info["init_from"]) == ("abstract", "tldr", None)
    assert info["pair_counts"]["train"] == 24 and info["pair_counts"]["valid"] == 4
    assert info["pair_counts"]["truncated_valid"] == 1 and info["pair_counts"]["truncated_train"] == 0
    assert "sources truncated: 0 training, 1 validation" in done.stdout
    assert info["decode"]["no_repeat_ngram_size"] == 3 and info["training"]["rouge_tokenize"] == "default"


def test_tensorboard_has_rouge_scalars_and_example_summaries(seq2seq_run):
    root, _ = seq2seq_run
    validation = event_accumulator.EventAccumulator(str(root / "run" / "logs" / "validation"),
                                                    size_guidance={"tensors": 0})
    validation.Reload()
    for tag in ("rouge1", "rouge2", "rougeL", "bleu"):
        assert [event.step for event in validation.Tensors(tag)] == [2, 4], tag
    samples = event_accumulator.EventAccumulator(str(root / "run" / "logs" / "samples"), size_guidance={"tensors": 0})
    samples.Reload()
    texts = [event.tensor_proto.string_val[0].decode() for event in samples.Tensors("translations")]
    assert len(texts) == 2 and texts[0].startswith("| source | summary | reference |")
    assert "We study graphs with model 0 ." in texts[0]
    assert "a fast method for graphs . / graphs made fast ." in texts[0]  # every reference shown


def test_evaluate_scores_every_reference(seq2seq_run, tmp_path):
    from keras_llm.training.rouge import rouge_scores
    from keras_llm.training.translation_metrics import corpus_bleu

    root, _ = seq2seq_run
    records = [_record(i, [f"{TOPICS[i % 6]} quickly ."]) for i in range(30, 34)]
    test_file = _write_jsonl(tmp_path / "test.jsonl", records)
    done = run_cli("evaluate", root / "run", "--test", test_file, "--output-dir", tmp_path / "report")
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text(encoding="utf-8"))
    rows = list(csv.reader(open(tmp_path / "report" / "translations.tsv", encoding="utf-8"), delimiter="\t"))[1:]
    references = [record["tldr"] for record in records]
    assert [row[1] for row in rows] == [" ||| ".join(several) for several in references]
    hypotheses = [row[2] for row in rows]
    assert metrics["rouge"] == pytest.approx(rouge_scores(hypotheses, references))
    assert metrics["bleu"] == pytest.approx(corpus_bleu(hypotheses, references), abs=1e-6)
    assert metrics["counts"] == {"pairs": 4, "references": 8, "sources_truncated": 0}
    assert metrics["signatures"]["bleu"].startswith("nrefs:2|") and "ROUGE-1/2/L F1" in done.stdout


def test_a_jsonl_line_that_is_not_json_is_one_line_with_its_number(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"source": "a b", "target": "c"}\n{"source": "d", "target": "e"}\n{"source": "f", "target"\n',
                     encoding="utf-8")
    assert_one_line_error(run_cli("train", "seq2seq", "--pairs", pairs, "--run-dir", tmp_path / "run"),
                          f"{pairs}, line 3: not JSON")


@pytest.mark.slow
def test_bad_jsonl_and_wrong_format_options_are_one_line(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"source": "a b", "target": "c"}\n{"source": "d", "target": []}\n', encoding="utf-8")
    assert_one_line_error(run_cli("train", "seq2seq", "--pairs", pairs, "--run-dir", tmp_path / "a"),
                          "line 2: empty target text")
    pairs.write_text('{"source": "a b", "target": "c"}\n{"text": "d", "target": "e"}\n', encoding="utf-8")
    assert_one_line_error(run_cli("train", "seq2seq", "--pairs", pairs, "--run-dir", tmp_path / "b"),
                          "line 2: no field 'source'")
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("a\tb\nc\td\n", encoding="utf-8")
    assert_one_line_error(run_cli("train", "seq2seq", "--pairs", tsv, "--source-field", "x", "--run-dir",
                                  tmp_path / "c"), "--source-field do not apply", "read as TSV")


@pytest.mark.slow
def test_predict_summarize_and_export_agree(seq2seq_run, tmp_path):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the WordPiece ops the SavedModel holds)

    root, _ = seq2seq_run
    inputs = _write_jsonl(tmp_path / "in.jsonl", [_record(i, []) for i in range(40, 43)])
    done = run_cli("predict", root / "run", "--input", inputs, "--output", tmp_path / "out.jsonl", "--num-beams", "1",
                   "--no-repeat-ngram-size", "2", "--min-new-tokens", "3")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    joined = [" ".join(row["abstract"]) for row in rows]
    args = ["--num-beams", "1", "--no-repeat-ngram-size", "2", "--min-new-tokens", "3"]
    summarized = run_cli("summarize", root / "run", *[a for text in joined for a in ("--text", text)], *args)
    assert summarized.returncode == 0, summarized.stderr[-2000:]
    assert summarized.stdout.splitlines() == [row["translation"] for row in rows]
    assert all(len(row["translation"].split()) >= 2 for row in rows)
    default = run_cli("summarize", root / "run", *[a for text in joined for a in ("--text", text)])
    exported = run_cli("export", root / "run", "--base-dir", tmp_path / "served")
    assert exported.returncode == 0, exported.stderr[-2000:]
    served = tf.saved_model.load(str(tmp_path / "served" / "seq2seq" / "1"))
    out = served.signatures["serving_default"](texts=tf.constant(joined))["translations"].numpy()
    assert [text.decode() for text in out] == default.stdout.splitlines()  # the recipe's beams and constraints


@pytest.mark.slow
def test_warm_start_from_a_bert_directory(tmp_path):
    from tests.seq2seq.tiny_bert import write_tiny_bert

    words = sorted({word for i in range(30) for text in _record(i, [])["abstract"] + _record(i, [])["tldr"]
                    for word in text.lower().split()})
    bert, _ = write_tiny_bert(tmp_path / "bert", words, max_length=64)
    pairs = _write_jsonl(tmp_path / "train.jsonl", [_record(i, []) for i in range(12)])
    common = ["train", "seq2seq", "--pairs", pairs, "--source-field", "abstract", "--target-field", "tldr",
              "--steps", "2", "--eval-interval", "1", "--eval-batches", "1", "--max-length", "24", "--no-jit"]
    done = run_cli(*common, "--run-dir", tmp_path / "run", "--init-from", bert)
    assert done.returncode == 0, done.stderr[-2000:]
    info = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert info["init_from"] == str(bert) and info["model_config"]["embedding_norm"] is True
    assert info["model_config"]["shared_vocabulary"] is True and info["model_config"]["hidden_dim"] == 16
    assert "BERT tensors copied into encoder and decoder" in done.stdout
    assert_one_line_error(run_cli(*common, "--run-dir", tmp_path / "run2", "--init-from", bert, "--num-layers", "3"),
                          "the BERT fixes the model's shape")
