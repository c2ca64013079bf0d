"""Export a text classifier (or a sentence embedder) as a SavedModel with raw text in.

Texts longer than the context are read the way the library reads them (:mod:`keras_llm.data.windows`):
overlapping windows whose logits are pooled (classifier) or whose embeddings are averaged and
L2-normalised (embedder), or their first ``max_length`` tokens with ``LongTexts(mode="truncate")``.
The windowing is TensorFlow ops inside the signature, so TF Serving needs nothing else.
"""


import tensorflow as tf

from keras_llm.data.pooled_prediction import pooled_embeddings, pooled_logits
from keras_llm.data.windows import LongTexts
from keras_llm.export.versions import write_version_atomically
from keras_llm.models.bert import mean_pool

# Windows per model call inside the signature: bounds the memory of a request with long texts.
WINDOWS_PER_CALL = 32


class TextClassifierModule(tf.Module):
    """``serving_default``: ``texts`` (tf.string [batch]) → ``labels`` (tf.string [batch]) and
    ``probabilities`` (float32 [batch, num_classes], columns in the order of ``label_names``).

    Texts longer than ``max_length`` tokens are read as ``long_texts`` says (default: overlapping
    windows, mean-pooled logits); empty or whitespace-only texts are classified from ``[CLS] [SEP]``
    alone; invalid UTF-8 is read as U+FFFD.
    """

    def __init__(self, model, tokenizer, label_names, max_length, long_texts=None):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.label_names = tf.constant(list(label_names), tf.string)
        self.max_length = int(max_length)
        self.long_texts = long_texts or LongTexts()
        self.long_texts.window_shape(self.max_length)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def serve(self, texts):
        logits, _ = pooled_logits(self.model, self.tokenizer, texts, self.max_length, self.long_texts,
                                  WINDOWS_PER_CALL)
        probabilities = tf.nn.softmax(logits, axis=-1)
        labels = tf.gather(self.label_names, tf.argmax(probabilities, axis=-1))
        return {"labels": labels, "probabilities": probabilities}


def backbone_embedding(backbone):
    """Encoded inputs → ``(n, dim)`` mean-pooled, L2-normalised sentence vectors of ``backbone``."""

    def embed(inputs):
        # Trim the padding columns no row uses: padded positions do not change the result.
        width = tf.maximum(tf.reduce_max(tf.reduce_sum(inputs["padding_mask"], axis=1)), 2)
        inputs = {name: value[:, :width] for name, value in inputs.items()}
        return mean_pool(backbone(inputs, training=False)["sequence_output"], inputs["padding_mask"])

    return embed


class SentenceEmbedderModule(tf.Module):
    """``serving_default``: ``texts`` (tf.string [batch]) → ``embeddings`` (float32 [batch, dim]),
    mean-pooled over real tokens and L2-normalised (sentence-transformers' pooling); a text longer
    than ``max_length`` tokens: the normalised mean of its windows' embeddings (see ``long_texts``)."""

    def __init__(self, backbone, tokenizer, max_length, long_texts=None):
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.long_texts = long_texts or LongTexts()
        self.long_texts.window_shape(self.max_length)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def serve(self, texts):
        embeddings, _ = pooled_embeddings(backbone_embedding(self.backbone), self.tokenizer, texts, self.max_length,
                                          self.long_texts, WINDOWS_PER_CALL)
        return {"embeddings": embeddings}


def _export(module, base_dir, name):
    signatures = {"serving_default": module.serve.get_concrete_function()}
    return write_version_atomically(
        base_dir, name, lambda path: tf.saved_model.save(module, path, signatures=signatures))


def export_text_classifier(model, tokenizer, label_names, max_length, base_dir="saved_models", name="classifier",
                           long_texts=None):
    """Write ``<base_dir>/<name>/<version>/``; returns that path. ``long_texts``: a
    :class:`~keras_llm.data.windows.LongTexts` (default: windows, mean pooling)."""
    return _export(TextClassifierModule(model, tokenizer, label_names, max_length, long_texts), base_dir, name)


def export_sentence_embedder(backbone, tokenizer, max_length=256, base_dir="saved_models", name="embedder",
                             long_texts=None):
    """Write ``<base_dir>/<name>/<version>/``; returns that path."""
    return _export(SentenceEmbedderModule(backbone, tokenizer, max_length, long_texts), base_dir, name)
