"""The distillation loss and its packed targets (keras_llm.training.distillation) against the textbook formula."""

import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.training.distillation import (
    DistillationLoss,
    DistillationSettings,
    HardLabelAccuracy,
    packed_targets,
)


def _log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _reference(labels, teacher, student, temperature, alpha):
    p = np.exp(_log_softmax(teacher / temperature))
    kl = (p * (np.log(p) - _log_softmax(student / temperature))).sum(-1) * temperature ** 2
    ce = -_log_softmax(student)[np.arange(len(labels)), labels]
    return np.mean(alpha * kl + (1 - alpha) * ce)


@pytest.mark.parametrize("temperature, alpha", [(1.0, 0.5), (2.0, 0.9), (4.0, 0.0), (3.0, 1.0)])
def test_loss_matches_the_formula(rng, temperature, alpha):
    labels = rng.integers(0, 4, 6)
    teacher, student = rng.normal(0, 2, (6, 4)), rng.normal(0, 2, (6, 4))
    loss = DistillationLoss(temperature, alpha)(packed_targets(labels, teacher), student.astype("float32"))
    np.testing.assert_allclose(float(loss), _reference(labels, teacher, student, temperature, alpha), rtol=1e-5)


def test_a_student_equal_to_the_teacher_has_no_soft_loss(rng):
    logits = rng.normal(0, 2, (5, 3)).astype("float32")
    assert abs(float(DistillationLoss(2.0, 1.0)(packed_targets(rng.integers(0, 3, 5), logits), logits))) < 1e-5


def test_accuracy_reads_the_hard_label(rng):
    metric = HardLabelAccuracy()
    metric.update_state(packed_targets([0, 1, 1], np.zeros((3, 2))), np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]]))
    assert float(metric.result()) == pytest.approx(2 / 3)


@pytest.mark.parametrize("settings", [{"temperature": 0.0}, {"alpha": 1.5}, {"temperature": float("nan")}])
def test_bad_settings_are_refused(settings):
    with pytest.raises(UserInputError):
        DistillationSettings(**settings)
