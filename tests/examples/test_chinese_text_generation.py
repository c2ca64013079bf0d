"""The Chinese text-generation example trains, scores held-out continuations and prints its table."""

import math
import re

import pytest

from tests.examples import load_example

CJK = re.compile(r"[\u4e00-\u9fff]")
# Ideographs or CJK punctuation ("。"): a briefly trained model often answers with punctuation alone.
CJK_OUTPUT = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")




@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_quick_run_reports_metrics_and_chinese_continuations(tmp_path, capsys):
    example = load_example("chinese_text_generation")

    result = example.main(["--quick", "--run-dir", str(tmp_path), "--verbose", "0"])

    metrics = result["metrics"]
    assert math.isfinite(metrics["val perplexity"]) and metrics["val perplexity"] > 1.0
    assert math.isclose(metrics["val perplexity"], math.exp(metrics["val loss"]))
    # keras-hub's Bleu and Rouge F1 are fractions in [0, 1].
    assert 0.0 <= metrics["BLEU"] <= metrics["BLEU smoothed"] <= 1.0
    if result["rouge_error"] is None:
        for name in ("ROUGE-1 F1", "ROUGE-2 F1", "ROUGE-L F1"):
            assert 0.0 <= metrics[name] <= 1.0
    else:
        assert "rouge" in result["rouge_error"].lower()

    examples = result["examples"]
    assert examples and all(CJK.search(prompt) and CJK.search(reference) for prompt, _, reference in examples)
    assert any(CJK_OUTPUT.search(continuation) for _, continuation, _ in examples)
    assert all("\n" not in continuation for _, continuation, _ in examples)  # "\n" is the stop token

    out = capsys.readouterr().out
    for row in ("val loss", "val perplexity", "ROUGE-1 F1", "ROUGE-2 F1", "ROUGE-L F1", "BLEU", "BLEU smoothed"):
        assert f"| {row}" in out
    assert "separated by spaces" in out
    assert "→" in out
    assert (tmp_path / "final.keras").is_file()
