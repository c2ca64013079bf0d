"""Validation of a classifier trained on windows: one verdict per document, not per window.

Training sees every window of a long document as an example with the document's label (a window that
never mentions what makes the document a licence still learns "licence": noisy, but simple and
unbiased across windows). Validation answers the question prediction will be asked: the windows'
logits are pooled per document (mean or max, as in prediction) and the epoch's ``val_loss`` (the
cross-entropy of the pooled logits), ``val_accuracy`` and ``val_macro_f1`` are those of the documents.
So early stopping and ``best.keras`` choose the model that classifies documents best.

Example:
    >>> validation = PooledValidation(valid_windows_data, valid_windows.text_index, valid_labels, 12, "mean")
    >>> callbacks = [validation, ...]    # before the callbacks that read val_loss
"""

import keras
import numpy as np

from keras_llm.data.windows import pool_windows
from keras_llm.training.metrics import SparseMacroF1


class PooledValidation(keras.callbacks.Callback):
    """Adds the documents' ``val_loss``, ``val_accuracy``, ``val_macro_f1`` to each epoch's logs.

    Args:
        window_data: batches of ``(encoded windows, labels)`` in document order (not shuffled).
        text_index: int ``(num_windows,)``, each window's document.
        labels: int ``(num_documents,)``.
        num_classes: number of classes.
        pooling: ``"mean"`` or ``"max"``.
    """

    def __init__(self, window_data, text_index, labels, num_classes, pooling):
        super().__init__()
        self.window_data = window_data
        self.text_index = np.asarray(text_index, np.int32)
        self.labels = np.asarray(labels, np.int32)
        self.num_classes = int(num_classes)
        self.pooling = pooling
        self.predictions = None  # the last epoch's, for the confusion matrix

    def document_logits(self):
        """``(num_documents, num_classes)`` pooled logits of the model as it is now."""
        logits = np.concatenate([np.asarray(self.model(inputs, training=False), np.float32)
                                 for inputs, _ in self.window_data])
        return pool_windows(logits, self.text_index, len(self.labels), self.pooling).numpy()

    def on_epoch_end(self, epoch, logs=None):
        logits = self.document_logits()
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(self.labels, logits)
        self.predictions = np.argmax(logits, axis=-1)
        f1 = SparseMacroF1(self.num_classes)
        f1.update_state(self.labels, logits)
        if logs is not None:
            logs.update(val_loss=float(loss), val_accuracy=float(np.mean(self.predictions == self.labels)),
                        val_macro_f1=float(f1.result()))
