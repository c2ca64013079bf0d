"""Masked-LM pretraining run, and fine-tuning a classifier from it."""

import keras
import numpy as np
import pytest

from keras_llm.models.bert import BertConfig
from keras_llm.models.bert_mlm import backbone_from_masked_lm, build_bert_masked_lm
from keras_llm.runs.classifier import train_classifier_run
from keras_llm.runs.masked_lm import load_mlm_backbone, train_mlm_run


def test_masked_lm_round_trip_keeps_the_tie(tmp_path):
    config = BertConfig(vocab_size=60, hidden_dim=16, num_layers=1, num_heads=2, max_length=16)
    model = build_bert_masked_lm(config)
    ids = np.array([[2, 7, 4, 9, 3, 0]])
    inputs = {"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": (ids > 0).astype("int32"),
              "mask_positions": np.array([[2, 0]])}
    logits = model(inputs)
    assert logits.shape == (1, 2, 60)
    model.save(tmp_path / "mlm.keras")
    restored = keras.models.load_model(tmp_path / "mlm.keras", safe_mode=True)
    np.testing.assert_allclose(restored(inputs), logits, atol=1e-6)
    backbone = backbone_from_masked_lm(restored, config)
    np.testing.assert_array_equal(backbone.get_layer("token_embedding").get_weights()[0],
                                  model.get_layer("token_embedding").get_weights()[0])


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_pretrain_then_fine_tune(tmp_path, sentiment_csv):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"the {w} cat sat on the {v} mat" for w in ("black", "white", "grey", "big")
                                for v in ("red", "blue", "green", "old")) * 10, encoding="utf-8")
    run_dir, history = train_mlm_run(
        run_dir=str(tmp_path / "mlm"), corpus=str(corpus),
        training_overrides=dict(steps=60, eval_interval=30, eval_batches=2, batch_size=16, warmup_steps=5,
                                learning_rate=3e-3, jit_compile=False),
        verbose=0, log=lambda message: None)
    losses = history.history["val_loss"]
    assert losses[-1] < losses[0] and np.isfinite(history.history["val_perplexity"][-1])
    backbone, tokenizer = load_mlm_backbone(run_dir)
    assert backbone.get_layer("token_embedding").input_dim == tokenizer.vocab_size
    _, fine_tuned = train_classifier_run(
        "bert-classifier", run_dir=str(tmp_path / "clf"), train_file=str(sentiment_csv), text_column="review",
        label_column="sentiment", init_from=run_dir,
        training_overrides=dict(epochs=1, batch_size=8, max_length=12, jit_compile=False), verbose=0,
        log=lambda message: None)
    assert "val_accuracy" in fine_tuned.history
