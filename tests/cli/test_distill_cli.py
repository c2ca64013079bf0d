"""`keras-llm distill --teacher RUN_DIR --train FILE ...` (docs/compression.md): a student classifier run trained
on the teacher's soft labels; a training file with labels the teacher does not know is one line.

Default: the refusal (against the session's LoRA classifier run as teacher, tests/conftest.py).
`-m slow`: a BiLSTM student distilled for two epochs, then classified and evaluated like any run.
"""

import json

import pytest

from tests.conftest import assert_one_line_error, run_cli


def test_a_file_with_labels_the_teacher_does_not_know_is_one_line(lora_classifier_run, tmp_path):
    teacher, _ = lora_classifier_run
    table = tmp_path / "other.csv"
    table.write_text("review,sentiment\ngood,pos\nbad,neg\nso so,neutral\nmeh,neutral\n", encoding="utf-8")
    assert_one_line_error(run_cli("distill", "--teacher", teacher, "--train", table, "--run-dir", tmp_path / "s"),
                          "labels the teacher does not know", "neutral")


@pytest.mark.slow
def test_a_distilled_bilstm_is_a_classifier_run(lora_classifier_run, sentiment_csv, tmp_path):
    teacher, _ = lora_classifier_run
    student = tmp_path / "student"
    completed = run_cli("distill", "--teacher", teacher, "--train", sentiment_csv, "--epochs", "2",
                        "--temperature", "3", "--alpha", "0.7", "--run-dir", student)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "student bilstm:" in completed.stdout and "validation accuracy: student" in completed.stdout
    info = json.loads((student / "run.json").read_text())
    assert info["status"] == "finished" and info["backbone"] == "bilstm"
    assert info["distillation"] == {"teacher": str(teacher), "temperature": 3.0, "alpha": 0.7}
    assert info["labels"] == json.loads((teacher / "run.json").read_text())["labels"]
    classified = run_cli("classify", student, "--text", "i loved it")
    assert classified.returncode == 0 and classified.stdout.split("\t")[0] in ("pos", "neg"), classified.stderr
    evaluated = run_cli("evaluate", student, "--test", sentiment_csv, "--output-dir", tmp_path / "ev")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert 0.0 <= json.loads((tmp_path / "ev" / "metrics.json").read_text())["accuracy"] <= 1.0
