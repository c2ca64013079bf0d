"""SavedModel exports with raw-string signatures, in TF Serving's directory layout."""

from keras_llm.export.classifier import (
    SentenceEmbedderModule,
    TextClassifierModule,
    export_sentence_embedder,
    export_text_classifier,
)
from keras_llm.export.generator import TextGeneratorModule, export_text_generator
from keras_llm.export.op_check import OpReport, check_saved_model_ops, format_report
from keras_llm.export.translator import TranslatorModule, export_translator
from keras_llm.export.versions import next_version, write_version_atomically

__all__ = [
    "OpReport",
    "check_saved_model_ops",
    "format_report",
    "SentenceEmbedderModule",
    "TextClassifierModule",
    "TextGeneratorModule",
    "TranslatorModule",
    "export_sentence_embedder",
    "export_text_classifier",
    "export_text_generator",
    "export_translator",
    "next_version",
    "write_version_atomically",
]
