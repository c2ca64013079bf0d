"""Export a text classifier (or a sentence embedder) as a SavedModel with raw text in."""


import tensorflow as tf

from keras_llm.export.versions import write_version_atomically
from keras_llm.models.bert import mean_pool


class TextClassifierModule(tf.Module):
    """``serving_default``: ``texts`` (tf.string [batch]) → ``labels`` (tf.string [batch]) and
    ``probabilities`` (float32 [batch, num_classes], columns in the order of ``label_names``).

    Texts longer than ``max_length`` tokens are truncated; empty or whitespace-only texts are
    classified from ``[CLS] [SEP]`` alone; invalid UTF-8 is read as U+FFFD.
    """

    def __init__(self, model, tokenizer, label_names, max_length):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.label_names = tf.constant(list(label_names), tf.string)
        self.max_length = int(max_length)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def serve(self, texts):
        logits = self.model(self.tokenizer.encode_batch(texts, max_length=self.max_length), training=False)
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        labels = tf.gather(self.label_names, tf.argmax(probabilities, axis=-1))
        return {"labels": labels, "probabilities": probabilities}


class SentenceEmbedderModule(tf.Module):
    """``serving_default``: ``texts`` (tf.string [batch]) → ``embeddings`` (float32 [batch, dim]),
    mean-pooled over real tokens and L2-normalised (sentence-transformers' pooling)."""

    def __init__(self, backbone, tokenizer, max_length):
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.max_length = int(max_length)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def serve(self, texts):
        inputs = self.tokenizer.encode_batch(texts, max_length=self.max_length)
        outputs = self.backbone(inputs, training=False)
        return {"embeddings": mean_pool(outputs["sequence_output"], inputs["padding_mask"])}


def _export(module, base_dir, name):
    signatures = {"serving_default": module.serve.get_concrete_function()}
    return write_version_atomically(
        base_dir, name, lambda path: tf.saved_model.save(module, path, signatures=signatures))


def export_text_classifier(model, tokenizer, label_names, max_length, base_dir="saved_models", name="classifier"):
    """Write ``<base_dir>/<name>/<version>/``; returns that path."""
    return _export(TextClassifierModule(model, tokenizer, label_names, max_length), base_dir, name)


def export_sentence_embedder(backbone, tokenizer, max_length=256, base_dir="saved_models", name="embedder"):
    """Write ``<base_dir>/<name>/<version>/``; returns that path."""
    return _export(SentenceEmbedderModule(backbone, tokenizer, max_length), base_dir, name)
