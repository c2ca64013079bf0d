"""A text classifier over word pieces with a bidirectional LSTM: the ``bilstm`` backbone of classifier recipes.

It takes the three inputs of every BERT model here (``token_ids``, ``segment_ids``,
``padding_mask``; ``segment_ids`` is not read), so the classifier's data pipeline, its
long-text windows, ``classify`` and the SavedModel export serve it unchanged. Unlike
:func:`~keras_llm.models.rnn.build_rnn_classifier` (word ids, 0 = padding, for `compare`) it reads
WordPiece ids whose padding is given by the mask.
"""

import keras

from keras_llm.checks import dropout_rate, positive_int
from keras_llm.layers import PaddingMaskToBool
from keras_llm.models.bert import TOKEN_EMBEDDING, bert_inputs
from keras_llm.models.rnn import recurrent_layer

HEAD = "classifier_logits"


def build_bilstm_classifier(vocab_size, num_classes, num_layers=1, embedding_dim=128, units=128, dropout=0.2,
                            name="bilstm_classifier"):
    """Word-piece embeddings → ``num_layers`` masked BiLSTMs → both directions' final states → logits.

    Args:
        vocab_size: word-piece vocabulary size.
        num_classes: number of labels.
        num_layers: stacked bidirectional LSTMs (all but the last return sequences).
        embedding_dim, units: embedding width and LSTM state width per direction.
        dropout: on the embeddings, between layers and before the output layer.

    Returns:
        ``keras.Model``: dict ``token_ids``, ``segment_ids``, ``padding_mask`` (int ``(batch, seq_len)``)
        → float32 logits ``(batch, num_classes)``.

    Example:
        >>> model = build_bilstm_classifier(100, 2, embedding_dim=8, units=8)
        >>> ids = keras.ops.array([[2, 7, 9, 3, 0]])
        >>> model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids > 0}).shape
        (1, 2)
    """
    for what, value in (("vocab_size", vocab_size), ("num_classes", num_classes), ("num_layers", num_layers),
                        ("embedding_dim", embedding_dim), ("units", units)):
        positive_int(f"build_bilstm_classifier: {what}", value)
    dropout_rate("build_bilstm_classifier: dropout", dropout)
    inputs = bert_inputs()
    x = keras.layers.Embedding(vocab_size, embedding_dim, name=TOKEN_EMBEDDING)(inputs["token_ids"])
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    # The explicit mask makes both directions skip padding: the backward LSTM starts at a row's last
    # real piece, so the logits do not depend on how much padding follows the text.
    mask = PaddingMaskToBool(name="lstm_mask")(inputs["padding_mask"])
    for index in range(num_layers):
        last = index == num_layers - 1
        layer = keras.layers.Bidirectional(recurrent_layer("lstm", units, return_sequences=not last),
                                           name=f"bilstm_{index}")
        x = keras.layers.Dropout(dropout, name=f"bilstm_dropout_{index}")(layer(x, mask=mask))
    logits = keras.layers.Dense(num_classes, dtype="float32", name=HEAD)(x)
    return keras.Model(inputs, logits, name=name)
