"""Training a tiny GPT with model.fit: loss falls, TensorBoard shows what we log, files exist."""

import glob
import os

from tensorboard.backend.event_processing import event_accumulator


def _tags(directory):
    accumulator = event_accumulator.EventAccumulator(directory, size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def test_loss_falls(trained_run):
    _, history = trained_run
    val = history.history["val_loss"]
    assert len(val) == 3
    assert val[-1] < val[0] - 0.5, val
    assert history.history["val_perplexity"][-1] < history.history["val_perplexity"][0]


def test_run_directory_layout(trained_run):
    run_dir, _ = trained_run
    for name in ("run.json", "best.keras", "final.keras", "tokenizer/tokenizer.json"):
        assert os.path.exists(os.path.join(run_dir, name)), name


def test_tensorboard_event_files_hold_scalars_and_text(trained_run):
    run_dir, _ = trained_run
    logs = os.path.join(run_dir, "logs")
    train = _tags(os.path.join(logs, "train"))
    validation = _tags(os.path.join(logs, "validation"))
    samples = _tags(os.path.join(logs, "samples"))
    train_tags = set(train.Tags()["tensors"]) | set(train.Tags()["scalars"])
    validation_tags = set(validation.Tags()["tensors"]) | set(validation.Tags()["scalars"])
    assert {"loss", "perplexity", "learning_rate"} <= train_tags, train_tags
    assert {"loss", "perplexity"} <= validation_tags, validation_tags
    assert [e.step for e in validation.Tensors("loss")] == [40, 80, 120]  # by optimizer step
    assert "sample" in samples.Tags()["tensors"]
    events = samples.Tensors("sample")
    assert [e.step for e in events] == [40, 80, 120]
    text = events[-1].tensor_proto.string_val[0].decode("utf-8")
    assert len(text.strip("`\n")) > 50
    assert glob.glob(os.path.join(logs, "train", "events.out.tfevents.*"))
