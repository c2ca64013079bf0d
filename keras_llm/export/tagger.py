"""Export a token classifier (tagger) as a SavedModel: raw text in, words with tags out.

Signature ``serving_default``: ``texts`` (tf.string ``[batch]``) →

- ``tokens``: tf.string ``[batch, max_words]``, the words of each text, right-padded with ``""``;
- ``tags``: tf.string ``[batch, max_words]``, the tag of each word, padded with ``""``;
- ``scores``: float32 ``[batch, max_words]``, the softmax probability of that tag, padded with 0;
- ``lengths``: int32 ``[batch]``, the number of tagged words of each text.

``max_words`` is the longest row of the batch (0 for a batch of empty texts). Words are split
as :func:`keras_llm.data.token_alignment.split_text_into_words` does: runs of whitespace
separate words and every punctuation character is a word of its own; invalid UTF-8 is read
as U+FFFD. Long texts are truncated: only the words whose first word piece fits into
``max_length - 2`` pieces are returned (the rest of the text is dropped, not tagged).
The model runs on the batch padded to its longest text (rounded up to 16 pieces), not to
``max_length``. A tagger with character features computes each word's character ids in the
graph too (:mod:`keras_llm.data.word_characters`: plain TF string ops). Serving needs
``import tensorflow_text`` (its ops tokenize) but not keras_llm or Keras.
"""


import tensorflow as tf

from keras_llm.data.tagging import tagger_inputs
from keras_llm.data.token_alignment import split_text_into_words
from keras_llm.data.word_characters import CharSpec
from keras_llm.export.versions import write_version_atomically
from keras_llm.models.token_classifier import char_features_of


class TaggerModule(tf.Module):
    """The exported graph (see the module docstring for the signature)."""

    def __init__(self, model, tokenizer, tag_names, max_length):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.tag_names = tf.constant(list(tag_names), tf.string)
        self.max_length = int(max_length)
        chars = char_features_of(model)  # None: a tagger that reads word pieces only
        self.char_spec = chars and CharSpec(chars.max_word_chars, chars.char_vocab_size)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def serve(self, texts):
        # A word has at least one piece, so words past max_length - 2 can never be tagged;
        # cutting them first keeps a 100,000-character text cheap.
        words = split_text_into_words(texts, max_words=self.max_length - 2)
        return self.tag_words(words)

    def tag_words(self, words):
        """The signature's outputs for words already split (ragged tf.string ``(batch, words)``).

        `keras-llm predict` tags a CoNLL file's words through this, so its tags are the export's.
        """
        # The model runs on the batch's longest request (rounded up to 16 pieces), not on max_length:
        # a 10-word request then costs a fraction of a 512-piece one. first_piece indexes stay in range.
        inputs, _, encoded = tagger_inputs(self.tokenizer, words, self.max_length, self.char_spec)
        probabilities = tf.nn.softmax(tf.cast(self.model(inputs, training=False), tf.float32), axis=-1)
        keep = tf.cast(encoded["word_mask"], tf.bool)
        kept_words = tf.ragged.boolean_mask(words, keep)
        positions = tf.ragged.boolean_mask(encoded["first_piece"], keep)
        # (batch, words, tags) as the flat (total_words, tags) rows of the ragged (batch, words) layout
        word_probabilities = tf.gather(probabilities, positions, batch_dims=1).flat_values
        best = tf.argmax(word_probabilities, axis=-1, output_type=tf.int32)
        return {
            "tokens": kept_words.to_tensor(""),
            "tags": positions.with_flat_values(tf.gather(self.tag_names, best)).to_tensor(""),
            "scores": positions.with_flat_values(tf.reduce_max(word_probabilities, axis=-1)).to_tensor(0.0),
            "lengths": tf.cast(kept_words.row_lengths(), tf.int32),
        }


def export_tagger(model, tokenizer, tag_names, max_length, base_dir="saved_models", name="tagger"):
    """Write ``<base_dir>/<name>/<version>/`` (atomically); returns that path."""
    module = TaggerModule(model, tokenizer, tag_names, max_length)
    signatures = {"serving_default": module.serve.get_concrete_function()}
    return write_version_atomically(
        base_dir, name, lambda path: tf.saved_model.save(module, path, signatures=signatures))
