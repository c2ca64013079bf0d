"""`keras-llm train gpt-shakespeare-char-muon`: the baby GPT trained with Muon, tuned for time to quality.

One tiny run through the console script: run.json records the optimizer, the run logs no text sample
and no attention maps while it trains (the recipe's speed settings), and `generate` still samples the
trained model with the recipe's decoding settings. Exact resume of a Muon run is
tests/cli/test_kill_and_resume.py's default case.
"""

import json

from tests.conftest import run_cli


def test_muon_recipe_trains_without_samples_or_attention_maps_and_generates(tiny_corpus, tmp_path):
    run_dir = tmp_path / "muon"
    completed = run_cli("train", "gpt-shakespeare-char-muon", "--corpus", tiny_corpus, "--steps", "4",
                        "--eval-interval", "2", "--eval-batches", "1", "--max-length", "16", "--num-layers", "1",
                        "--hidden-dim", "16", "--batch-size", "4", "--run-dir", run_dir)
    assert completed.returncode == 0, completed.stderr[-3000:]
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert info["training"]["optimizer"] == "muon" and info["training"]["attention_images"] is False
    assert "--- sample after" not in completed.stdout
    logs = {path.name for path in (run_dir / "logs").iterdir()}
    assert "samples" not in logs and "attention" not in logs and "validation" in logs, logs
    generated = run_cli("generate", run_dir, "--max-new-tokens", "12", "--seed", "3")
    assert generated.returncode == 0, generated.stderr[-3000:]
    assert generated.stdout.strip()
