"""Export an extractive-QA reader as a SavedModel: raw question and context in, answer span out.

Signature ``serving_default``: ``question``, ``context`` (tf.string ``[batch]``) →

- ``answer``: tf.string ``[batch]``, the best valid span of the context (``""`` for an empty context);
- ``score``: float32 ``[batch]``, ``p_start * p_end`` of that span (0 for an empty context);
- ``start``, ``end``: int32 ``[batch]``, its character offsets into the context (Unicode code points,
  ``end`` exclusive: ``context[start:end] == answer`` for valid UTF-8).

Contexts longer than a window are read as overlapping windows, and the answer is the best span
over all of them (:mod:`keras_llm.data.span_answers`, the code `keras-llm answer` runs, so both
give the same answers). Serving needs ``import tensorflow_text`` (its ops tokenize) but not
keras_llm or Keras.
"""

import tensorflow as tf

from keras_llm.data.span_answers import read_answers
from keras_llm.export.versions import write_version_atomically


class SpanReaderModule(tf.Module):
    """The exported graph (see the module docstring for the signature).

    Args:
        model: a span reader (:func:`~keras_llm.models.span_reader.build_span_reader`).
        tokenizer: its WordPiece tokenizer.
        settings: the run's ``answers`` record: ``max_length``, ``stride``, ``max_question_length``,
            ``max_answer_length``.
    """

    def __init__(self, model, tokenizer, settings):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.settings = {key: int(value) for key, value in settings.items()}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="question"),
                                  tf.TensorSpec([None], tf.string, name="context")])
    def serve(self, question, context):
        return read_answers(self.model, self.tokenizer, question, context, **self.settings)


def export_span_reader(model, tokenizer, settings, base_dir="saved_models", name="qa"):
    """Write ``<base_dir>/<name>/<version>/`` (atomically); returns that path."""
    module = SpanReaderModule(model, tokenizer, settings)
    signatures = {"serving_default": module.serve.get_concrete_function()}
    return write_version_atomically(
        base_dir, name, lambda path: tf.saved_model.save(module, path, signatures=signatures))
