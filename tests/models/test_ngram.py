"""NGramLanguageModel: normalisation, hand-computed Kneser-Ney and Laplace, sampling, save/load, errors."""

import math
from collections import Counter

import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.models.ngram import NGramLanguageModel

# Toy corpus over a vocabulary of 5 ids: a=0, b=1, c=2, d=3; id 4 never occurs.
A, B, C, D, E = range(5)
TOY = [A, B, A, C, A, B, B, A, C, D, A, B, C, A, B]  # 15 tokens


def random_corpus(seed, length=300, vocab_size=7):
    rng = np.random.default_rng(seed)
    # Skewed and leaving the last id unseen, so some n-grams repeat and some ids never occur.
    weights = np.linspace(3, 1, vocab_size - 1)
    return rng.choice(vocab_size - 1, size=length, p=weights / weights.sum())


@pytest.mark.parametrize("smoothing", ["modified_kneser_ney", "kneser_ney", "add_k"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_probabilities_sum_to_one_for_seen_and_unseen_contexts(smoothing, order):
    corpus = random_corpus(order)
    lm = NGramLanguageModel(order, smoothing=smoothing, k=0.5).fit(corpus, vocab_size=7)
    rng = np.random.default_rng(0)
    contexts = [[], [6], [6, 6, 6], list(corpus[:order - 1]), list(corpus[50:53])]
    contexts += [list(rng.integers(0, 7, size=rng.integers(0, 5))) for _ in range(20)]
    for context in contexts:
        probs = lm.probabilities(context)
        assert probs.shape == (7,) and abs(probs.sum() - 1.0) < 1e-9
        assert probs.min() > 0  # never zero, also for the unseen id 6
        assert lm.log_prob(context, 6) == pytest.approx(math.log(probs[6]), rel=1e-12)


def test_kneser_ney_perplexity_by_hand():
    lm = NGramLanguageModel(order=2, smoothing="kneser_ney", discount=0.75).fit(np.array(TOY), vocab_size=5)
    d, vocab = 0.75, 5
    # Raw unigram counts of TOY: a 6, b 5, c 3, d 1 (15 tokens, 4 distinct).
    # Continuation counts N1+(. w) from the 14 bigrams ab ba ac ca ab bb ba ac cd da ab bc ca ab,
    # distinct: ab ba ac ca bb cd da bc -> a has left neighbours {b, c, d} = 3,
    # b {a, b} = 2, c {a, b} = 2, d {c} = 1; total 8 distinct bigrams.
    def p_cont(count):  # interpolated continuation unigram, 4 distinct continued ids
        return (max(count - d, 0) + d * 4 * (1 / vocab)) / 8

    # Bigram histories (raw counts): after a: b 4, c 2 (total 6, 2 distinct);
    # after b: a 2, b 1, c 1 (total 4, 3 distinct); after c: a 2, d 1 (3, 2); after d: a 1 (1, 1).
    p_b_given_a = (4 - d + d * 2 * p_cont(2)) / 6
    p_d_given_b = (0 + d * 3 * p_cont(1)) / 4        # unseen bigram b d
    p_e_given_d = (0 + d * 1 * p_cont(0)) / 1        # unseen token e (no continuation count)
    p_c_given_e = p_cont(2)                          # unseen history e: the unigram level alone
    # The first token has no history: the order-1 model with RAW counts (a: 6 of 15, 4 distinct).
    p_a = (6 - d + d * 4 * (1 / vocab)) / 15
    expected = math.exp(-(math.log(p_a) + math.log(p_b_given_a) + math.log(p_d_given_b)
                          + math.log(p_e_given_d) + math.log(p_c_given_e)) / 5)
    # Spelled-out numbers: p_cont(2) = (1.25 + 0.6) / 8, p_cont(1) = (0.25 + 0.6) / 8, p_cont(0) = 0.6 / 8.
    assert p_cont(2) == pytest.approx(0.23125) and p_cont(0) == pytest.approx(0.075)
    assert p_a == pytest.approx(5.85 / 15)
    assert lm.perplexity(np.array([A, B, D, E, C])) == pytest.approx(expected, rel=1e-12)
    assert lm.log_prob([A], B) == pytest.approx(math.log(p_b_given_a), rel=1e-12)
    # A context longer than order - 1 counts only its last id.
    assert lm.log_prob([E, C, B], D) == pytest.approx(math.log(p_d_given_b), rel=1e-12)


def test_laplace_by_hand():
    vocab = 5
    unigram = NGramLanguageModel(order=1, smoothing="add_k", k=1.0).fit(np.array(TOY), vocab_size=vocab)
    # (count + 1) / (15 + 5): a 7/20, b 6/20, c 4/20, d 2/20, e 1/20.
    np.testing.assert_allclose(unigram.probabilities([]), [7 / 20, 6 / 20, 4 / 20, 2 / 20, 1 / 20], rtol=1e-12)
    assert unigram.cross_entropy(np.array([A, E, C])) == pytest.approx(
        -(math.log(7 / 20) + math.log(1 / 20) + math.log(4 / 20)) / 3, rel=1e-12)

    bigram = NGramLanguageModel(order=2, smoothing="add_k", k=1.0).fit(np.array(TOY), vocab_size=vocab)
    # After a: a 0, b 4, c 2, d 0, e 0 of 6 -> (c + 1) / (6 + 5).
    np.testing.assert_allclose(bigram.probabilities([A]), [1 / 11, 5 / 11, 3 / 11, 1 / 11, 1 / 11], rtol=1e-12)
    # First token: the add-1 unigram (7/20); then b|a (4+1)/(6+5), d|b (0+1)/(4+5),
    # e|d (0+1)/(1+5) (after d only a, once) and a|e 1/5 (history e never seen: uniform).
    expected = -(math.log(7 / 20) + math.log(5 / 11) + math.log(1 / 9) + math.log(1 / 6) + math.log(1 / 5)) / 5
    assert bigram.cross_entropy(np.array([A, B, D, E, A])) == pytest.approx(expected, rel=1e-12)
    assert bigram.perplexity(np.array([A, B, D, E, A])) == pytest.approx(math.exp(expected), rel=1e-12)
    assert bigram.log_prob([E], A) == pytest.approx(math.log(1 / 5), rel=1e-12)


def reference_kneser_ney(corpus, order, vocab_size, d, context, token):
    """Interpolated Kneser-Ney from dictionaries, straight from the formula (for cross-checking)."""
    corpus = [int(t) for t in corpus]
    context = tuple(int(t) for t in context)[max(len(context) - (order - 1), 0):]
    top = len(context) + 1
    raw = {n: Counter(tuple(corpus[i:i + n]) for i in range(len(corpus) - n + 1)) for n in range(1, top + 1)}
    cont = {n: Counter(gram[1:] for gram in raw[n + 1]) for n in range(1, top)}
    prob = 1 / vocab_size
    for m in range(1, top + 1):
        counts = raw[m] if m == top else cont[m]
        history = context[len(context) - (m - 1):] if m > 1 else ()
        following = {g[-1]: c for g, c in counts.items() if g[:-1] == history and c > 0}
        total = sum(following.values())
        if total:
            prob = (max(following.get(token, 0) - d, 0) + d * len(following) * prob) / total
    return prob


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kneser_ney_matches_dictionary_reference(order):
    corpus = random_corpus(10 + order, length=120, vocab_size=5)
    lm = NGramLanguageModel(order, smoothing="kneser_ney", discount=0.6).fit(corpus, vocab_size=5)
    for context in ([], [0], [int(corpus[7]), int(corpus[8]), int(corpus[9])], [4, 0, 1], [2, 2, 2, 2]):
        for token in range(5):
            expected = reference_kneser_ney(corpus, order, 5, 0.6, context, token)
            assert math.exp(lm.log_prob(context, token)) == pytest.approx(expected, rel=1e-12)
    held_out = random_corpus(99, length=40, vocab_size=5)
    expected = -np.mean([math.log(reference_kneser_ney(corpus, order, 5, 0.6, held_out[:t], held_out[t]))
                         for t in range(len(held_out))])
    assert lm.cross_entropy(held_out) == pytest.approx(expected, rel=1e-12)


def test_unseen_tokens_and_contexts_never_get_zero_probability():
    for smoothing in ("modified_kneser_ney", "kneser_ney", "add_k"):
        lm = NGramLanguageModel(3, smoothing=smoothing).fit(np.array(TOY), vocab_size=50)
        assert lm.probabilities([A, B]).min() > 0 and lm.probabilities([40, 41]).min() > 0
        assert np.isfinite(lm.cross_entropy(np.arange(50)))


def test_sampling_is_reproducible_and_in_vocabulary():
    lm = NGramLanguageModel(3).fit(random_corpus(5), vocab_size=7)
    first = lm.sample([1, 2], 200, seed=3)
    assert first == lm.sample([1, 2], 200, seed=3)
    assert len(first) == 200 and all(isinstance(t, int) and 0 <= t < 7 for t in first)
    assert first != lm.sample([1, 2], 200, seed=4)
    assert 6 in lm.sample([], 2000, seed=0)  # the unseen id is reachable (KN gives it mass)
    greedy = lm.sample([1, 2], 5, temperature=0)
    assert greedy[0] == int(np.argmax(lm.probabilities([1, 2])))
    cold = lm.sample([], 300, seed=1, temperature=0.3)
    assert all(0 <= t < 7 for t in cold) and lm.sample([], 0) == []


def test_save_load_round_trip(tmp_path):
    corpus = random_corpus(6)
    for smoothing in ("modified_kneser_ney", "kneser_ney", "add_k"):
        lm = NGramLanguageModel(4, smoothing=smoothing, k=0.3, discount=0.9).fit(corpus, vocab_size=7)
        path = tmp_path / f"{smoothing}.npz"
        lm.save(path)
        loaded = NGramLanguageModel.load(path)
        assert (loaded.order, loaded.smoothing, loaded.k, loaded.discount, loaded.vocab_size) == (4, smoothing, 0.3,
                                                                                                 0.9, 7)
        assert loaded.num_parameters == lm.num_parameters > 0
        assert loaded.cross_entropy(corpus[:100]) == lm.cross_entropy(corpus[:100])
        assert loaded.sample([1], 50, seed=2) == lm.sample([1], 50, seed=2)


def test_num_parameters_counts_distinct_ngrams():
    lm = NGramLanguageModel(2).fit(np.array(TOY), vocab_size=5)
    assert lm.num_parameters == 4 + 8  # 4 distinct unigrams + 8 distinct bigrams


def test_bad_input_raises_user_input_error(tmp_path):
    with pytest.raises(UserInputError, match="order"):
        NGramLanguageModel(0)
    with pytest.raises(UserInputError, match="smoothing"):
        NGramLanguageModel(2, smoothing="witten_bell")
    with pytest.raises(UserInputError, match="discount"):
        NGramLanguageModel(2, discount=1.5)
    with pytest.raises(UserInputError, match="k must"):
        NGramLanguageModel(2, smoothing="add_k", k=0)
    with pytest.raises(UserInputError, match="shorter than the order"):
        NGramLanguageModel(3).fit(np.array([1, 2]), vocab_size=5)
    with pytest.raises(UserInputError, match="vocab_size"):
        NGramLanguageModel(2).fit(np.array([1, 2, 5]), vocab_size=5)
    with pytest.raises(UserInputError, match="integers"):
        NGramLanguageModel(2).fit(np.array([0.5, 1.0]), vocab_size=5)
    with pytest.raises(UserInputError, match="fit"):
        NGramLanguageModel(2).perplexity(np.array([1, 2]))
    lm = NGramLanguageModel(2).fit(np.array(TOY), vocab_size=5)
    with pytest.raises(UserInputError, match="token ids"):
        lm.log_prob([A], 5)
    with pytest.raises(UserInputError, match="at least one token"):
        lm.cross_entropy(np.array([], dtype=np.int64))
    with pytest.raises(UserInputError, match="cannot read"):
        NGramLanguageModel.load(tmp_path / "missing.npz")
    assert issubclass(UserInputError, ValueError)


def test_modified_discounts_by_hand():
    from keras_llm.models.ngram import modified_discounts

    # n_1..n_4 = 3, 2, 1, 1: Y = 3 / (3 + 4) = 3/7; D1 = 1 - 2Y(2/3); D2 = 2 - 3Y(1/2); D3+ = 3 - 4Y(1/1).
    y = 3 / 7
    assert modified_discounts(np.array([1, 1, 1, 2, 2, 3, 4])) == pytest.approx(
        (1 - 2 * y * 2 / 3, 2 - 3 * y * 1 / 2, 3 - 4 * y), rel=1e-12)
    # No count of 2: D2 has no estimate and takes D1's; D3+ falls back the same way; all within [0, k].
    d1, d2, d3 = modified_discounts(np.array([1, 1, 5]))
    assert d1 == pytest.approx(1.0) and d2 == d1 and d3 == d2
    # Skewed counts (many 2s, one 1): D1's estimate 1 - 2 * (1/9) * 4 < 0 would free no mass; Y is used.
    assert modified_discounts(np.array([1, 2, 2, 2, 2]))[0] == pytest.approx(1 / 9)


def test_modified_kneser_ney_never_gives_zero_probability_on_skewed_counts():
    corpus = random_corpus(24, length=150, vocab_size=6)  # a corpus where an unclamped D1 goes negative
    lm = NGramLanguageModel(4).fit(corpus, vocab_size=6)
    for context in ([], [0], [2, 2, 2], list(corpus[7:10]), [5, 0, 1]):
        assert lm.probabilities(context).min() > 0


def test_modified_kneser_ney_bigram_by_hand():
    lm = NGramLanguageModel(order=2).fit(np.array(TOY), vocab_size=5)
    vocab = 5
    # Raw bigram counts of TOY (14 bigrams): ab 4, ac 2, ba 2, bb 1, bc 1, ca 2, cd 1, da 1
    # -> counts-of-counts n1 = 4 (bb bc cd da), n2 = 3 (ac ba ca), n3 = 0, n4 = 1 (ab).
    y = 4 / (4 + 2 * 3)
    d1, d2 = 1 - 2 * y * 3 / 4, 2 - 3 * y * 0 / 3
    d3 = d2  # n3 = 0: no estimate for D3+, it takes D2's
    assert lm.discounts[2, "raw"] == pytest.approx((d1, d2, d3), rel=1e-12)
    # Continuation unigram counts (left neighbours): a 3, b 2, c 2, d 1 -> n1 = 1, n2 = 2, n3 = 1, n4 = 0.
    cy = 1 / (1 + 2 * 2)
    c1, c2, c3 = 1 - 2 * cy * 2 / 1, 2 - 3 * cy * 1 / 2, 3 - 4 * cy * 0 / 1
    assert c1 > 0  # 1 - 0.8 = 0.2: a positive estimate is kept
    assert lm.discounts[1, "cont"] == pytest.approx((c1, c2, c3), rel=1e-12)
    # Unigram level (8 continuation counts in all; counts 3, 2, 2, 1 -> one 1, two 2s, one 3+).
    left_unigram = c1 * 1 + c2 * 2 + c3 * 1

    def p_cont(count):
        discount = {0: 0.0, 1: c1, 2: c2}.get(count, c3)
        return (max(count - discount, 0) + left_unigram / vocab) / 8

    # After a: b 4, c 2 (total 6; N1 = 0, N2 = 1, N3+ = 1).
    p_b_given_a = (4 - d3 + (d2 * 1 + d3 * 1) * p_cont(2)) / 6
    # After b: a 2, b 1, c 1 (total 4; N1 = 2, N2 = 1); d unseen after b (continuation count 1).
    p_d_given_b = (0 + (d1 * 2 + d2 * 1) * p_cont(1)) / 4
    assert lm.log_prob([A], B) == pytest.approx(math.log(p_b_given_a), rel=1e-12)
    assert lm.log_prob([B], D) == pytest.approx(math.log(p_d_given_b), rel=1e-12)


def reference_modified_kneser_ney(corpus, order, vocab_size, context, token):
    """Interpolated modified Kneser-Ney from dictionaries, straight from Chen & Goodman's formulas."""
    corpus = [int(t) for t in corpus]
    context = tuple(int(t) for t in context)[max(len(context) - (order - 1), 0):]
    top = len(context) + 1
    raw = {n: Counter(tuple(corpus[i:i + n]) for i in range(len(corpus) - n + 1)) for n in range(1, top + 1)}
    cont = {n: Counter(gram[1:] for gram in raw[n + 1]) for n in range(1, top)}

    def discounts(counts):
        n1, n2, n3, n4 = (sum(1 for c in counts.values() if c == k) for k in (1, 2, 3, 4))
        y = n1 / (n1 + 2 * n2) if n1 + 2 * n2 else 0.0
        out, previous = [], y or 0.75
        for k, (low, high) in zip((1, 2, 3), ((n1, n2), (n2, n3), (n3, n4))):
            estimate = k - (k + 1) * y * high / low if low else 0.0
            previous = min(estimate, k) if estimate > 0 else previous
            out.append(previous)
        return out

    prob = 1 / vocab_size
    for m in range(1, top + 1):
        counts = raw[m] if m == top else cont[m]
        d = discounts(counts)
        history = context[len(context) - (m - 1):] if m > 1 else ()
        following = {g[-1]: c for g, c in counts.items() if g[:-1] == history and c > 0}
        total = sum(following.values())
        if total:
            freed = sum(d[min(c, 3) - 1] for c in following.values())
            seen = following.get(token, 0)
            prob = (max(seen - (d[min(seen, 3) - 1] if seen else 0), 0) + freed * prob) / total
    return prob


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_modified_kneser_ney_matches_dictionary_reference(order):
    corpus = random_corpus(20 + order, length=150, vocab_size=6)
    lm = NGramLanguageModel(order).fit(corpus, vocab_size=6)
    for context in ([], [0], [int(corpus[7]), int(corpus[8]), int(corpus[9])], [5, 0, 1], [2, 2, 2, 2]):
        for token in range(6):
            expected = reference_modified_kneser_ney(corpus, order, 6, context, token)
            assert math.exp(lm.log_prob(context, token)) == pytest.approx(expected, rel=1e-12)
    held_out = random_corpus(98, length=40, vocab_size=6)
    expected = -np.mean([math.log(reference_modified_kneser_ney(corpus, order, 6, held_out[:t], held_out[t]))
                         for t in range(len(held_out))])
    assert lm.cross_entropy(held_out) == pytest.approx(expected, rel=1e-12)
