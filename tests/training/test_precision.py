"""Every model trains under every precision policy, and bfloat16 stays close to float32.

Tolerance for bfloat16 forward passes (same weights, tiny models, inputs of length 8): the
largest logit difference stays within 5% of the largest float32 logit. bfloat16 keeps 8 bits
of mantissa (relative step 2**-8 ≈ 0.4%), and a few layers compound it.
"""

import keras
import numpy as np
import pytest

import keras_llm  # noqa: F401  (selects the TensorFlow backend)
from keras_llm.models import BertConfig, GPTConfig, RNNConfig, build_bert_classifier, build_gpt, build_rnn_lm
from keras_llm.models.bert_mlm import build_bert_masked_lm
from keras_llm.models.rnn import build_rnn_classifier
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer
from keras_llm.models.token_classifier import build_token_classifier
from keras_llm.training.runtime import PRECISIONS, precision_policy

VOCAB, SEQ, BATCH = 40, 8, 4
_rng = np.random.default_rng(0)
_ids = _rng.integers(1, VOCAB, size=(BATCH, SEQ)).astype("int32")
_ids[1, 5:] = 0
_mask = (_ids != 0).astype("int32")
_bert_inputs = {"token_ids": _ids, "segment_ids": np.zeros_like(_ids), "padding_mask": _mask}
_next_tokens = _rng.integers(0, VOCAB, size=(BATCH, SEQ))
_classes = np.array([0, 1, 1, 0])
_tiny_bert = dict(vocab_size=VOCAB, hidden_dim=16, num_layers=1, num_heads=2, max_length=SEQ, dropout=0.0)

# name -> (builder, inputs, targets)
MODELS = {
    "gpt": (lambda: build_gpt(GPTConfig(vocab_size=VOCAB, max_length=SEQ, num_layers=1, num_heads=2, hidden_dim=16)),
            _ids, _next_tokens),
    "bert_classifier": (lambda: build_bert_classifier(BertConfig(**_tiny_bert), num_classes=2, dropout=0.0),
                        _bert_inputs, _classes),
    "bert_masked_lm": (lambda: build_bert_masked_lm(BertConfig(**_tiny_bert)),
                       {**_bert_inputs, "mask_positions": np.array([[1, 2]] * BATCH, "int32")},
                       _rng.integers(0, VOCAB, size=(BATCH, 2))),
    "lstm_lm": (lambda: build_rnn_lm(RNNConfig(vocab_size=VOCAB, cell="lstm", units=16, embedding_dim=16)),
                _ids, _next_tokens),
    "gru_lm": (lambda: build_rnn_lm(RNNConfig(vocab_size=VOCAB, cell="gru", units=16, embedding_dim=16)),
               _ids, _next_tokens),
    "bilstm_classifier": (lambda: build_rnn_classifier(VOCAB, 2, units=8, embedding_dim=8), _ids, _classes),
    "seq2seq": (lambda: build_seq2seq_transformer(Seq2SeqConfig(
                    VOCAB, VOCAB, num_encoder_layers=1, num_decoder_layers=1, num_heads=2, hidden_dim=16,
                    max_source_length=SEQ, max_target_length=SEQ, dropout=0.0)),
                {"encoder_token_ids": _ids, "decoder_token_ids": _ids[:, ::-1].copy()}, _next_tokens),
    "bert_tagger": (lambda: build_token_classifier("bert", num_tags=5, vocab_size=VOCAB, hidden_dim=16, num_layers=1,
                                                   num_heads=2, max_length=SEQ, dropout=0.0),
                    _bert_inputs, _rng.integers(0, 5, size=(BATCH, SEQ))),
    "bilstm_tagger": (lambda: build_token_classifier("bilstm", num_tags=5, vocab_size=VOCAB, units=8,
                                                     embedding_dim=8, dropout=0.0),
                      _bert_inputs, _rng.integers(0, 5, size=(BATCH, SEQ))),
}


def _train_one_step(name, precision):
    build, inputs, targets = MODELS[name]
    keras.utils.set_random_seed(1)
    with precision_policy(precision):
        model = build()
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=False,
                      run_eagerly=True)  # one step: tracing a graph would cost more than the step
        loss = model.train_on_batch(inputs, targets)
    return model, float(np.asarray(loss))


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_trains_a_step_with_finite_loss(name, precision):
    model, loss = _train_one_step(name, precision)
    assert np.isfinite(loss) and loss > 0
    assert all(np.isfinite(np.asarray(weight)).all() for weight in model.trainable_weights)
    assert all(weight.dtype == "float32" for weight in model.trainable_weights)  # variables stay float32
    if precision == "mixed_float16":  # Keras adds loss scaling so float16 gradients do not underflow
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert keras.config.dtype_policy().name == "float32"  # the policy does not leak out of the block


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bfloat16_forward_is_close_to_float32(name):
    build, inputs, _ = MODELS[name]
    keras.utils.set_random_seed(2)
    reference = build()
    expected = np.asarray(reference(inputs, training=False), "float32")
    with precision_policy("mixed_bfloat16"):
        model = build()
    model.set_weights(reference.get_weights())
    actual = np.asarray(keras.ops.cast(model(inputs, training=False), "float32"))
    scale = np.abs(expected).max()
    assert scale > 0
    assert np.abs(actual - expected).max() <= 0.05 * scale, (np.abs(actual - expected).max(), scale)
