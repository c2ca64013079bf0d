"""SavedModel exports with raw-string signatures, in TF Serving's directory layout."""

from keras_llm.export.generator import TextGeneratorModule, export_text_generator
from keras_llm.export.versions import next_version, write_version_atomically

__all__ = ["TextGeneratorModule", "export_text_generator", "next_version", "write_version_atomically"]
