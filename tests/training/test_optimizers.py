"""MatrixMuon: which weights it orthogonalises (3-D attention kernels included), and its update; how many
steps one call into the compiled training function may run."""

import keras
import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.training import TrainingConfig
from keras_llm.training.optimizers import MatrixMuon, make_optimizer


def _model():
    inputs = keras.Input((5,), dtype="int32")
    x = keras.layers.Embedding(11, 8, name="token_embedding")(inputs)
    x = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="attention")(x, x)
    x = keras.layers.Dense(6, name="dense")(x)
    return keras.Model(inputs, x)


def test_kernels_take_muon_and_embeddings_biases_take_adamw():
    model = _model()
    optimizer = make_optimizer("muon", model, 1e-3)
    optimizer.build(model.trainable_variables)
    by_path = {v.path: optimizer._should_use_adamw(v) for v in model.trainable_variables}
    assert by_path["token_embedding/embeddings"] is True
    assert by_path["attention/query/kernel"] is False and by_path["attention/attention_output/kernel"] is False
    assert by_path["dense/kernel"] is False and by_path["dense/bias"] is True


def test_an_lstm_lm_takes_muon_on_its_gate_matrices():
    # lstm-lm trains with Muon (docs/benchmarks.md, word-level LM): the input and recurrent kernels
    # (all four gates side by side) and the projection before the tied head are the matrices it
    # orthogonalises; the tied embedding and the biases stay on AdamW.
    from keras_llm.models.rnn import build_rnn_lm

    model = build_rnn_lm(50, units=16, embedding_dim=8, tie_weights=True)
    optimizer = make_optimizer("muon", model, 1e-3)
    optimizer.build(model.trainable_variables)
    by_path = {v.path: optimizer._should_use_adamw(v) for v in model.trainable_variables}
    assert by_path == {"token_embedding/embeddings": True, "rnn_0/lstm_cell/kernel": False,
                       "rnn_0/lstm_cell/recurrent_kernel": False, "rnn_0/lstm_cell/bias": True,
                       "output_projection/kernel": False, "output_projection/bias": True}


@pytest.mark.parametrize("shape, matrix", [((8, 2, 4), (8, 8)), ((2, 4, 8), (8, 8)), ((8, 6), (8, 6))])
def test_first_update_is_the_orthogonalised_gradient_of_the_kernel_as_a_matrix(shape, matrix):
    rng = np.random.default_rng(0)
    variable = keras.Variable(rng.normal(size=shape).astype("float32"), name="kernel")
    gradient = rng.normal(size=shape).astype("float32")
    optimizer = MatrixMuon(learning_rate=0.01, weight_decay=None, adam_lr_ratio=1.0)
    before = variable.numpy()
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
    # Step 1: momentum m = g; Nesterov direction g + 0.95 m; Newton-Schulz on its 2-D view; Moonlight's scale.
    direction = (1 + optimizer.momentum) * gradient.reshape(matrix)
    expected = optimizer.zeropower_via_newtonschulz5(keras.ops.convert_to_tensor(direction), optimizer.ns_steps)
    expected = np.asarray(expected) * np.sqrt(max(matrix)) * optimizer.rms_rate * 0.01
    np.testing.assert_allclose(before - variable.numpy(), expected.reshape(shape), atol=1e-6)
    # Orthogonalised: the step's size does not follow the gradient's (a gradient 100x larger moves the same).
    again = keras.Variable(before, name="kernel")
    MatrixMuon(learning_rate=0.01, weight_decay=None).apply_gradients([(keras.ops.convert_to_tensor(100 * gradient),
                                                                        again)])
    np.testing.assert_allclose(before - again.numpy(), expected.reshape(shape), atol=1e-5)


def test_unknown_optimizer_is_one_line():
    with pytest.raises(UserInputError, match="unknown optimizer 'sgd'"):
        TrainingConfig(optimizer="sgd")
    with pytest.raises(UserInputError, match="unknown optimizer"):
        make_optimizer("lion", _model(), 1e-3)


def test_steps_per_execution_ends_every_call_on_an_evaluation():
    from keras_llm.training.runtime import compile_options

    assert compile_options(True, 10, align_to=(100, 500))["steps_per_execution"] == 10
    assert compile_options(True, 10, align_to=(2, 6))["steps_per_execution"] == 2
    assert compile_options(True, 10, align_to=(25, 450))["steps_per_execution"] == 5
    assert compile_options(True, 4, align_to=())["steps_per_execution"] == 4
