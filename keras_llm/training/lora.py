"""LoRA fine-tuning (Hu et al., 2021): low-rank adapters on a Transformer's projections, the rest frozen.

:func:`apply_lora` is the one mechanism every task uses (GPT, BERT classifier, tagger; a QA reader
later): it calls Keras 3's own ``enable_lora(rank)`` on every ``Dense``/``EinsumDense`` projection
inside our :class:`~keras_llm.layers.MultiHeadAttention` (query, key, value, output) and
:class:`~keras_llm.layers.FeedForward` (both dense layers), and freezes every other variable except
those of the task's head. Keras' layers can serve because our attention runs its projections through
``EinsumDense`` and reads ``layer.kernel`` (base + scaled ``A @ B`` once LoRA is on) in its fused
self-attention path, so nothing of ours needs its own kernels.

Merging is Keras' too: ``Dense.save_own_variables`` writes the merged kernel ``W + (alpha/r) A B``
and no adapter variables, and our layers create their projections without a ``lora_rank`` in their
config, so a ``.keras`` file of a LoRA run reloads as a plain model (the export has no LoRA ops or
variables). For the same reason ``model.save_weights`` loses the adapters, so a run's backups keep
them beside the weights (:func:`adapter_state` / :func:`restore_adapter_state`) for an exact resume.

Example:
    >>> model = build_bert_classifier(BertConfig(vocab_size=100, hidden_dim=32, num_layers=1, num_heads=2), 2)
    >>> report = apply_lora(model, rank=4, trainable_layers=("classifier_logits",))
    >>> report.trainable < report.total
    True
"""

import dataclasses

import keras
import numpy as np

from keras_llm.errors import UserInputError
from keras_llm.layers import FeedForward, MultiHeadAttention

# The projections of each of our blocks that get adapters (attribute names of the layers).
_PROJECTIONS = {MultiHeadAttention: ("query_dense", "key_dense", "value_dense", "output_dense"),
                FeedForward: ("intermediate_dense", "output_dense")}


@dataclasses.dataclass(frozen=True)
class LoraReport:
    """What :func:`apply_lora` did: ``rank``, ``alpha``, adapted ``projections``, ``trainable`` and ``total``
    parameter counts (adapters included in both)."""

    rank: int
    alpha: float
    projections: int
    trainable: int
    total: int

    def line(self):
        """One log line: rank, alpha, projections, trainable of all parameters."""
        return (f"LoRA rank {self.rank} (alpha {self.alpha:g}) on {self.projections} projections: "
                f"{self.trainable / 1e6:.2f}M of {self.total / 1e6:.2f}M parameters trainable "
                f"({100.0 * self.trainable / max(self.total, 1):.1f}%)")


def check_lora_settings(rank, alpha=None):
    """Refuse a rank that is not a positive integer, or an alpha that is not a positive number (one line)."""
    if rank is None:
        if alpha is not None:
            raise UserInputError("lora_alpha is the scale of LoRA adapters: give lora_rank too")
        return
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1:
        raise UserInputError(f"lora_rank must be a positive integer (the rank of the adapters); got {rank!r}")
    if alpha is not None and not (isinstance(alpha, (int, float)) and np.isfinite(alpha) and alpha > 0):
        raise UserInputError(f"lora_alpha must be a positive number; got {alpha!r}")


def lora_projections(model):
    """The ``Dense``/``EinsumDense`` layers of every attention and feed-forward layer in ``model``, in model order."""
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):  # noqa: SLF001  (Keras has no public walk)
        for kind, names in _PROJECTIONS.items():
            if isinstance(layer, kind):
                found += [getattr(layer, name) for name in names if hasattr(layer, name)]
    return found


def _width(projection):
    """The two sides of Keras' factorisation of a built projection's kernel ``(*rest, last)``:
    A is ``(*rest, r)`` and B ``(r, last)``, so a rank above either side is no longer low-rank."""
    shape = tuple(projection.kernel.shape)
    return int(np.prod(shape[:-1])), int(shape[-1])


def apply_lora(model, rank, alpha=None, trainable_layers=()):
    """Put rank-``rank`` adapters on ``model``'s projections and freeze everything else but ``trainable_layers``.

    Args:
        model: a built ``keras.Model`` with our attention / feed-forward layers (GPT, BERT, a tagger).
        rank: adapter rank r, at least 1 and at most the narrowest projection's width.
        alpha: scale numerator (the update is ``alpha / r · A B``); default ``rank`` (scale 1, Keras' default).
        trainable_layers: names of top-level layers trained in full (the new task head).

    Returns:
        a :class:`LoraReport`.

    Raises:
        UserInputError: a bad rank or alpha, a rank wider than a projection, or a model with no
            attention or feed-forward layer (a BiLSTM, an RNN).
    """
    check_lora_settings(rank, alpha)
    projections = lora_projections(model)
    if not projections:
        raise UserInputError(f"lora_rank: model {model.name!r} has no Transformer attention or feed-forward "
                             f"layers to put adapters on (LoRA needs a BERT or GPT model)")
    narrowest = min(projections, key=lambda p: min(_width(p)))
    if rank > min(_width(narrowest)):
        raise UserInputError(f"lora_rank {rank} is larger than the width {min(_width(narrowest))} of layer "
                             f"{narrowest.path}; use at most {min(_width(narrowest))}")
    for variable in model.variables:
        variable.trainable = False
    for name in trainable_layers:
        for variable in model.get_layer(name).variables:
            variable.trainable = True
    for projection in projections:
        projection.enable_lora(int(rank), lora_alpha=alpha)  # the frozen kernel stays frozen; A and B train
    alpha = projections[0].lora_alpha
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    return LoraReport(int(rank), float(alpha), len(projections), trainable, model.count_params())


def has_lora(model):
    """Whether any projection of ``model`` carries LoRA adapters."""
    return any(getattr(p, "lora_enabled", False) for p in lora_projections(model))


def adapter_state(model):
    """``{name: array}``: each adapted projection's unmerged kernel and its A and B, for a backup.

    ``model.save_weights`` stores merged kernels and no adapters; these arrays restore the exact state.
    """
    state = {}
    for index, projection in enumerate(p for p in lora_projections(model) if p.lora_enabled):
        state[f"{index}.kernel"] = keras.ops.convert_to_numpy(projection._kernel)  # noqa: SLF001  (the unmerged base)
        state[f"{index}.lora_kernel_a"] = keras.ops.convert_to_numpy(projection.lora_kernel_a)
        state[f"{index}.lora_kernel_b"] = keras.ops.convert_to_numpy(projection.lora_kernel_b)
    return state


def restore_adapter_state(model, state):
    """Assign what :func:`adapter_state` saved (after ``load_weights``, which zeroes the adapters)."""
    for index, projection in enumerate(p for p in lora_projections(model) if p.lora_enabled):
        projection._kernel.assign(state[f"{index}.kernel"])  # noqa: SLF001
        projection.lora_kernel_a.assign(state[f"{index}.lora_kernel_a"])
        projection.lora_kernel_b.assign(state[f"{index}.lora_kernel_b"])


def lora_from_settings(model, settings, trainable_layers=(), log=print):
    """:func:`apply_lora` with a training config's ``lora_rank`` / ``lora_alpha`` (nothing when the rank is None);
    logs the trainable parameter count in one line. Returns the :class:`LoraReport` or None."""
    if getattr(settings, "lora_rank", None) is None:
        return None
    report = apply_lora(model, settings.lora_rank, settings.lora_alpha, trainable_layers)
    log(report.line())
    return report
