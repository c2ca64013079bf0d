"""Shuffled orders fixed in advance, one per epoch, so a resumed run can skip finished epochs exactly.

Example:
    >>> epoch_orders(5, seed=1, epochs=2).shape
    (2, 5)
"""

import numpy as np


def epoch_orders(count, seed, epochs):
    """``(epochs, count)`` int64: epoch ``e`` visits the examples in the permutation drawn from ``seed + e``."""
    orders = [np.random.default_rng(seed + epoch).permutation(count) for epoch in range(epochs)]
    return np.stack(orders).astype(np.int64)
