"""Smoothed N-gram language model over token ids (numpy only; a baseline, not a Keras model).

Three smoothings, each giving every token of the vocabulary a non-zero probability:

``"modified_kneser_ney"`` (the default) — interpolated modified Kneser–Ney (Chen & Goodman
1998, section 3): as ``"kneser_ney"`` below, but the discount depends on the count, with three
discounts per order and count kind estimated from the counts-of-counts ``n_k`` (the number of
distinct n-grams seen exactly ``k`` times)::

    Y = n_1 / (n_1 + 2 n_2),  D_1 = 1 - 2 Y n_2 / n_1,  D_2 = 2 - 3 Y n_3 / n_2,  D_3+ = 3 - 4 Y n_4 / n_3
    P_m(w | h) = max(c_m(h w) - D(c_m(h w)), 0) / C_m(h)
                 + (D_1 N_1(h) + D_2 N_2(h) + D_3+ N_3+(h)) / C_m(h) * P_{m-1}(w | h')

where ``N_k(h)`` counts the tokens seen exactly ``k`` times after ``h`` (``N_3+``: three or more).
Each discount is at most ``k`` (no count goes negative, so every level still sums to one). Where
an estimate is undefined or not positive (a count-of-counts of zero, or skewed counts on a tiny
corpus) the discount of the count below is used (``Y`` for ``D_1``, or 0.75 when ``Y`` is 0): a
discount of 0 would free no probability for the lower orders and give unseen tokens zero.
One discount cannot fit every order: the higher orders of word-level data are mostly singletons,
which need a discount near 1, while the counts of 3 and more need more than 1 (docs/benchmarks.md).

``"kneser_ney"`` — interpolated Kneser–Ney (Chen & Goodman 1998; Jurafsky & Martin,
3rd ed., ch. 3) with one absolute discount ``D`` for every order. For a history ``h`` of
``m - 1`` tokens and ``h'`` = ``h`` without its first token::

    P_m(w | h) = max(c_m(h w) - D, 0) / C_m(h)  +  D * N_m(h) / C_m(h) * P_{m-1}(w | h')
    P_0(w)     = 1 / vocab_size                          (the uniform base of the recursion)

where ``C_m(h) = sum_v c_m(h v)`` and ``N_m(h) = |{v : c_m(h v) > 0}|``. At the highest
order of a query ``c_m`` is the raw count of the n-gram in the training ids; at every
lower order it is the continuation count ``N1+(. h w)``, the number of distinct tokens
seen right before ``h w``. When ``C_m(h) = 0`` (history never seen, or with no
continuation counts) the level passes ``P_{m-1}`` through unchanged. ``0 < D <= 1`` keeps
every level a distribution (each seen count loses exactly ``D``).

``"add_k"`` — add-k (Laplace for ``k = 1``) on the full history only, no backoff::

    P(w | h) = (c(h w) + k) / (C(h) + k * vocab_size)

with raw counts, so a history never seen gives the uniform distribution.

Histories: a context longer than ``order - 1`` tokens is cut to its last ``order - 1``;
a shorter one (the first tokens of a text, or ``sample`` from an empty prompt) is
answered by the model of order ``len(context) + 1`` built from the same counts, i.e. the
raw counts are used at that order and continuation counts below it.

Storage: the distinct n-grams of each order ``n`` are sorted int64 keys
``id_{n-1}(prefix) * vocab_size + last_token``, where ``id_{n-1}`` is the index of the
prefix among the distinct (n-1)-grams, so keys never overflow (they are below
``corpus_length * vocab_size``) and all n-grams with one history are contiguous.
"""

import json

import numpy as np

from keras_llm.errors import UserInputError

SMOOTHINGS = ("modified_kneser_ney", "kneser_ney", "add_k")
_FORMAT_VERSION = 1


class NGramLanguageModel:
    """A smoothed N-gram language model: counts n-grams of token ids, scores and samples text.

    Args:
        order: N, the length of the longest n-gram (1 = unigram).
        smoothing: ``"modified_kneser_ney"`` (interpolated, three discounts per order estimated
            from the counts), ``"kneser_ney"`` (one fixed discount) or ``"add_k"``; see the module
            docstring for the exact formulas.
        k: pseudo-count of add-k smoothing, ``> 0``.
        discount: the fixed absolute discount ``D`` of ``"kneser_ney"``, ``0 < D <= 1``.

    Example:
        >>> lm = NGramLanguageModel(order=3).fit(np.array(ids), vocab_size=65)
        >>> lm.perplexity(np.array(valid_ids))
        >>> lm.sample(context=[20, 43], num_tokens=100, seed=0)
    """

    def __init__(self, order, smoothing="modified_kneser_ney", k=1.0, discount=0.75):
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
            raise UserInputError(f"order must be an integer >= 1; got {order!r}")
        if smoothing not in SMOOTHINGS:
            raise UserInputError(f"unknown smoothing {smoothing!r}; expected one of {list(SMOOTHINGS)}")
        if not np.isfinite(k) or k <= 0:
            raise UserInputError(f"k must be > 0; got {k!r}")
        if not 0 < discount <= 1:
            raise UserInputError(f"discount must be in (0, 1]; got {discount!r}")
        self.order = int(order)
        self.smoothing = smoothing
        self.k = float(k)
        self.discount = float(discount)
        self.vocab_size = None
        # Per order n (index n - 1): sorted keys, raw counts, continuation counts (None at N).
        self._keys, self._raw, self._cont = [], [], []

    # ------------------------------------------------------------------ fitting
    def fit(self, token_ids, vocab_size):
        """Count all n-grams of orders 1..N in one token sequence.

        Args:
            token_ids: 1-D integer array of ids in ``[0, vocab_size)``, at least ``order`` long.
            vocab_size: number of ids of the vocabulary (also the unseen ones).

        Returns:
            self.
        """
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
            raise UserInputError(f"vocab_size must be an integer >= 1; got {vocab_size!r}")
        vocab_size = int(vocab_size)
        ids = _as_ids(token_ids, "token_ids")
        if ids.ndim != 1:
            raise UserInputError(f"token_ids must be 1-D; got shape {ids.shape}")
        if len(ids) < self.order:
            raise UserInputError(f"a corpus of {len(ids)} tokens is shorter than the order {self.order}")
        if ids.min() < 0 or ids.max() >= vocab_size:
            raise UserInputError(f"token ids must lie in [0, vocab_size={vocab_size}); "
                                 f"got ids in [{ids.min()}, {ids.max()}]")
        self.vocab_size = vocab_size
        self._keys, self._raw, self._cont = [], [], []
        positions_ids = []  # per order: id of the n-gram starting at each position
        prefix_ids = None
        for n in range(1, self.order + 1):
            last = ids[n - 1:]
            keys = last if n == 1 else prefix_ids[:len(last)] * vocab_size + last
            unique, first, inverse, counts = np.unique(
                keys, return_index=True, return_inverse=True, return_counts=True)
            self._keys.append(unique)
            self._raw.append(counts.astype(np.int64))
            if n > 1:
                # Continuation counts of order n - 1: each distinct n-gram adds one to its suffix.
                suffix = positions_ids[-1][first + 1]
                self._cont.append(np.bincount(suffix, minlength=len(self._keys[n - 2])).astype(np.int64))
            prefix_ids = inverse.reshape(-1).astype(np.int64)
            positions_ids.append(prefix_ids)
        self._cont.append(None)
        self._summarise()
        return self

    def _summarise(self):
        """Per order and count kind: C(h), N(h) and N_1(h), N_2(h), N_3+(h) for every history id (one row at
        order 1), and the modified Kneser–Ney discounts (D_1, D_2, D_3+) of that order and kind."""
        self._totals, self._discounts = {}, {}
        for n in range(1, self.order + 1):
            for kind, counts in (("raw", self._raw[n - 1]), ("cont", self._cont[n - 1])):
                if counts is None:
                    continue
                history = (np.zeros(len(counts), np.int64) if n == 1 else self._keys[n - 1] // self.vocab_size)
                size = 1 if n == 1 else len(self._keys[n - 2])
                per_history = [np.bincount(history, weights=weights, minlength=size)
                               for weights in (counts, counts > 0, counts == 1, counts == 2, counts >= 3)]
                self._totals[n, kind] = tuple(per_history)
                self._discounts[n, kind] = modified_discounts(counts)

    @property
    def num_parameters(self):
        """Number of stored n-gram counts: distinct n-grams of all orders 1..N in the training ids."""
        self._check_fitted()
        return int(sum(len(keys) for keys in self._keys))

    # ------------------------------------------------------------------ scoring
    def log_prob(self, context, token):
        """Natural log of P(token | context); only the last ``order - 1`` context ids count."""
        self._check_fitted()
        context = self._context(context)
        token = self._token_array([token])
        return float(np.log(self._prob_rows(context[None, :], token)[0]))

    def probabilities(self, context):
        """P(w | context) for every id w, a float64 array of shape ``(vocab_size,)`` summing to 1."""
        self._check_fitted()
        context = self._context(context)
        rows = np.broadcast_to(context, (self.vocab_size, len(context)))
        return self._prob_rows(rows, np.arange(self.vocab_size, dtype=np.int64))

    def cross_entropy(self, token_ids):
        """Mean negative log-likelihood in nats per token of a 1-D id sequence.

        Every token is predicted, each from the previous ``order - 1`` ids; the first
        ``order - 1`` tokens from the shorter histories they have (the first from none).
        """
        self._check_fitted()
        ids = self._token_array(token_ids)
        if len(ids) == 0:
            raise UserInputError("cross_entropy needs at least one token")
        h = self.order - 1
        log_probs = [np.log(self._prob_rows(ids[None, :t], ids[t:t + 1])) for t in range(min(h, len(ids)))]
        if len(ids) > h:
            windows = np.lib.stride_tricks.sliding_window_view(ids, h + 1)
            log_probs.append(np.log(self._prob_rows(windows[:, :h], windows[:, h])))
        return float(-np.concatenate(log_probs).mean())

    def perplexity(self, token_ids):
        """exp(cross_entropy(token_ids))."""
        return float(np.exp(self.cross_entropy(token_ids)))

    def sample(self, context, num_tokens, seed=None, temperature=1.0):
        """Sample ``num_tokens`` ids after ``context`` (a list of ids, may be empty).

        Args:
            context: the prompt ids.
            num_tokens: how many ids to draw.
            seed: seed of a ``numpy.random.default_rng``; the same seed gives the same ids.
            temperature: ``P ** (1 / temperature)`` renormalised; 0 picks the most likely id.

        Returns:
            list of int, the new ids only.
        """
        self._check_fitted()
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, (int, np.integer)) or num_tokens < 0:
            raise UserInputError(f"num_tokens must be an integer >= 0; got {num_tokens!r}")
        if not np.isfinite(temperature) or temperature < 0:
            raise UserInputError(f"temperature must be >= 0; got {temperature!r}")
        history = list(self._context(context))
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(int(num_tokens)):
            probs = self.probabilities(history)
            if temperature == 0:
                token = int(np.argmax(probs))
            else:
                logits = np.log(probs) / temperature
                weights = np.exp(logits - logits.max())
                cumulative = np.cumsum(weights)
                token = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
                token = min(token, self.vocab_size - 1)
            out.append(token)
            history = (history + [token])[-(self.order - 1):] if self.order > 1 else []
        return out

    def _prob_rows(self, contexts, tokens):
        """P(tokens[i] | contexts[i]) for rows of equal-length histories (length < order)."""
        contexts = np.asarray(contexts, dtype=np.int64)  # (rows, history_length)
        top = contexts.shape[1] + 1
        grams = np.concatenate([contexts, np.asarray(tokens, np.int64)[:, None]], axis=1)
        vocab = self.vocab_size
        # ngram_ids[m] / history_ids[m]: ids of the last m tokens (the m-gram ending at the
        # token) and of the m - 1 tokens before the token, -1 where never seen.
        ngram_ids, history_ids = {}, {}
        for m in range(1, top + 1):
            current = None
            for j in range(top - m, top):
                if j == top - 1:
                    history_ids[m] = current
                current = self._lookup(j - (top - m) + 1, current, grams[:, j])
            ngram_ids[m] = current
        if self.smoothing == "add_k":
            count = self._gather(self._raw[top - 1], ngram_ids[top])
            total = self._history_stats(top, "raw", history_ids[top])[0]
            return (count + self.k) / (total + self.k * vocab)
        probs = np.full(len(tokens), 1.0 / vocab)
        for m in range(1, top + 1):
            kind = "raw" if m == top else "cont"
            counts = self._raw[m - 1] if kind == "raw" else self._cont[m - 1]
            count = self._gather(counts, ngram_ids[m])
            total, distinct, ones, twos, threes = self._history_stats(m, kind, history_ids[m])
            if self.smoothing == "kneser_ney":
                discount, left_over = self.discount, self.discount * distinct
            else:  # modified: the discount of each count, and the mass they free for the lower order
                d1, d2, d3 = self._discounts[m, kind]
                discount = np.select([count == 1, count == 2, count >= 3], [d1, d2, d3], 0.0)
                left_over = d1 * ones + d2 * twos + d3 * threes
            seen = total > 0
            safe_total = np.where(seen, total, 1.0)
            interpolated = (np.maximum(count - discount, 0.0) + left_over * probs) / safe_total
            probs = np.where(seen, interpolated, probs)
        return probs

    def _lookup(self, n, prefix_ids, tokens):
        """Ids of n-grams (prefix id at order n - 1, last token) among the distinct n-grams; -1 if absent."""
        keys = self._keys[n - 1]
        query = tokens if n == 1 else prefix_ids * self.vocab_size + tokens
        index = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
        found = keys[index] == query
        if n > 1:
            found &= prefix_ids >= 0
        return np.where(found, index, -1)

    def _history_stats(self, n, kind, history_ids):
        """``(C(h), N(h), N_1(h), N_2(h), N_3+(h))`` of each row's history (see :meth:`_summarise`)."""
        if n == 1:
            return tuple(stat[0] * np.ones(1) for stat in self._totals[n, kind])
        return tuple(self._gather(stat, history_ids) for stat in self._totals[n, kind])

    @property
    def discounts(self):
        """``{(order, "raw" | "cont"): (D_1, D_2, D_3+)}`` of modified Kneser–Ney (estimated by ``fit``)."""
        self._check_fitted()
        return dict(self._discounts)

    @staticmethod
    def _gather(values, ids):
        return np.where(ids >= 0, values[np.maximum(ids, 0)], 0).astype(np.float64)

    # ------------------------------------------------------------------ input checks
    def _check_fitted(self):
        if self.vocab_size is None:
            raise UserInputError("the n-gram model has no counts yet; call fit() or load() first")

    def _token_array(self, token_ids):
        ids = _as_ids(token_ids, "token ids").reshape(-1)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise UserInputError(f"token ids must lie in [0, {self.vocab_size}); "
                                 f"got ids in [{ids.min()}, {ids.max()}]")
        return ids

    def _context(self, context):
        ids = self._token_array(list(context))
        return ids[-(self.order - 1):] if self.order > 1 else ids[:0]

    # ------------------------------------------------------------------ persistence
    def save(self, path):
        """Write the model to one ``.npz`` file (config as JSON text; no pickle)."""
        self._check_fitted()
        config = {"format_version": _FORMAT_VERSION, "order": self.order, "smoothing": self.smoothing,
                  "k": self.k, "discount": self.discount, "vocab_size": self.vocab_size}
        arrays = {"config": np.array(json.dumps(config))}
        for n in range(1, self.order + 1):
            arrays[f"keys_{n}"] = self._keys[n - 1]
            arrays[f"raw_{n}"] = self._raw[n - 1]
            if n < self.order:
                arrays[f"cont_{n}"] = self._cont[n - 1]
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)

    @classmethod
    def load(cls, path):
        """Read a model written by ``save``."""
        try:
            with np.load(path, allow_pickle=False) as data:
                config = json.loads(str(data["config"]))
                model = cls(config["order"], config["smoothing"], config["k"], config["discount"])
                model.vocab_size = int(config["vocab_size"])
                for n in range(1, model.order + 1):
                    model._keys.append(data[f"keys_{n}"])
                    model._raw.append(data[f"raw_{n}"])
                    model._cont.append(data[f"cont_{n}"] if n < model.order else None)
        except (OSError, KeyError, ValueError) as error:
            if isinstance(error, UserInputError):
                raise
            raise UserInputError(f"cannot read an n-gram model from {path!r}: {error}") from None
        model._summarise()
        return model


def modified_discounts(counts):
    """Chen & Goodman's ``(D_1, D_2, D_3+)`` from the counts-of-counts of ``counts`` (see the module docstring).

    Example: ``modified_discounts(np.array([1, 1, 1, 2, 2, 3, 4]))`` (n_1..n_4 = 3, 2, 1, 1).
    """
    counts = np.asarray(counts)
    n = [int(np.count_nonzero(counts == k)) for k in (1, 2, 3, 4)]
    y = n[0] / (n[0] + 2 * n[1]) if n[0] + 2 * n[1] > 0 else 0.0
    discounts, previous = [], y if y > 0 else 0.75
    for k in (1, 2, 3):
        estimate = k - (k + 1) * y * n[k] / n[k - 1] if n[k - 1] > 0 else 0.0
        # A discount of 0 would free no mass for the lower orders: an unseen token would get probability 0.
        previous = float(min(estimate, k)) if estimate > 0 else previous
        discounts.append(previous)
    return tuple(discounts)


def _as_ids(token_ids, what):
    ids = np.asarray(token_ids)
    if ids.size == 0:
        return ids.astype(np.int64)
    if ids.dtype == bool or not np.issubdtype(ids.dtype, np.integer):
        raise UserInputError(f"{what} must be integers; got dtype {ids.dtype}")
    return ids.astype(np.int64)
