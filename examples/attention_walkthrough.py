"""Self-attention on "I love eating pizza", one step at a time.

What it teaches:

1. A sentence becomes a matrix: each word is a learned vector (its meaning) plus a fixed
   sinusoidal vector (its position), giving one row per word.
2. Self-attention lets every word (the *query*) look at every word (the *keys*) and mix their
   *values*. Each head has its own projections, so each head can look for something different.
3. The attention matrix of a head is softmax(Q Kᵀ / √d_k): row = query word, columns = what it
   attends to, and every row sums to 1.
4. The layer's output is exactly that formula: we recompute it by hand in numpy from the
   layer's own weights and check the numbers agree.
5. A heatmap (one panel per head) makes the pattern visible at a glance.

The weights are untrained (random, with a fixed seed), so *which* word attends to which is
arbitrary here; the mechanics are the point. Runs in a few seconds on a CPU:

    python examples/attention_walkthrough.py --output attention_heads.png
"""

import argparse

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras
import matplotlib

matplotlib.use("Agg")  # write files only; no display needed (CI, servers)
import matplotlib.pyplot as plt
import numpy as np

from keras_llm.layers import MultiHeadAttention, SinusoidalPositionEncoding

WORDS = ["I", "love", "eating", "pizza"]
EMBEDDING_DIM = 8  # even, as sinusoidal positions need
NUM_HEADS = 2
KEY_DIM = 4  # d_k: width of each head's queries and keys


def embed(words, seed):
    """Word vectors plus sinusoidal positions, shape ``(1, len(words), EMBEDDING_DIM)``."""
    vocab = {word: i for i, word in enumerate(WORDS)}
    token_ids = np.array([[vocab[w] for w in words]])
    # Unit-variance word vectors: Keras' default uniform(±0.05) init would be drowned out by the
    # ±1 position encoding, and attention would then only see positions, not words.
    word_embedding = keras.layers.Embedding(
        len(vocab), EMBEDDING_DIM,
        embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed))
    vectors = word_embedding(token_ids)
    return vectors + SinusoidalPositionEncoding()(vectors)


def softmax(x):
    x = x - x.max(axis=-1, keepdims=True)  # subtracting the max avoids overflow in exp
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def attention_by_hand(layer, x):
    """softmax(Q Kᵀ / √d_k) V for every head, in plain numpy from the layer's weights.

    Returns the per-head weights ``(heads, len, len)``, the per-head contexts
    ``(heads, len, value_dim)`` and the layer output ``(len, output_dim)``.
    """
    x = x[0]  # one sentence: (len, dim)

    def project(dense):  # kernel (dim, heads, head_dim), bias (heads, head_dim)
        kernel, bias = (w.numpy() for w in dense.weights)
        return np.einsum("ld,dhk->hlk", x, kernel) + bias[:, None, :]  # (heads, len, head_dim)

    q, k, v = project(layer.query_dense), project(layer.key_dense), project(layer.value_dense)
    weights = softmax(q @ k.transpose(0, 2, 1) / np.sqrt(KEY_DIM))
    context = weights @ v
    # The heads are concatenated and mixed back to the model width by one output projection.
    out_kernel, out_bias = (w.numpy() for w in layer.output_dense.weights)
    output = np.einsum("hlv,hvo->lo", context, out_kernel) + out_bias
    return weights, context, output


def print_table(title, matrix, labels):
    width = max(len(w) for w in labels) + 2
    print(title)
    print(" " * width + "".join(f"{w:>{width}}" for w in labels) + f"{'row sum':>{width + 2}}")
    for label, row in zip(labels, matrix):
        cells = "".join(f"{p:>{width}.3f}" for p in row)
        print(f"{label:<{width}}{cells}{row.sum():>{width + 2}.3f}")
    print()


def save_heatmaps(scores, labels, path):
    fig, axes = plt.subplots(1, len(scores), figsize=(4.5 * len(scores) + 1, 4.2), squeeze=False,
                             layout="constrained")  # keeps tick labels from overlapping
    axes = axes[0]
    for head, (ax, matrix) in enumerate(zip(axes, scores)):
        # A fixed 0..1 colour range makes the heads comparable with each other.
        image = ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("attends to (key)")
        if head == 0:  # the panels share rows; one label avoids clashing with the tick labels
            ax.set_ylabel("query word")
        ax.set_title(f"head {head}")
        for i, row in enumerate(matrix):
            for j, p in enumerate(row):
                ax.text(j, i, f"{p:.2f}", ha="center", va="center",
                        color="black" if p > 0.6 else "white", fontsize=9)
    fig.colorbar(image, ax=axes, label="attention weight", shrink=0.85)
    fig.suptitle("Self-attention on “I love eating pizza” (untrained, seeded)")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="attention_heads.png", help="where to save the heatmap")
    parser.add_argument("--seed", type=int, default=42, help="seed for the random weights")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)  # same weights, same tables, every run
    x = embed(WORDS, args.seed)
    attention = MultiHeadAttention(num_heads=NUM_HEADS, key_dim=KEY_DIM)
    output, scores = attention(x, return_attention_scores=True)  # value defaults to x: self-attention
    output, scores = keras.ops.convert_to_numpy(output)[0], keras.ops.convert_to_numpy(scores)[0]

    print(f"Sentence: {' '.join(WORDS)}")
    print(f"Input: {x.shape} = (batch, words, embedding_dim); {NUM_HEADS} heads, d_k = {KEY_DIM}\n")
    print("Attention weights: row = query word, columns = what it attends to (rows sum to 1).\n")
    for head, matrix in enumerate(scores):
        print_table(f"Head {head}", matrix, WORDS)

    weights, context, by_hand = attention_by_hand(attention, keras.ops.convert_to_numpy(x))
    weight_diff = np.abs(weights[0] - scores[0]).max()
    output_diff = np.abs(by_hand - output).max()
    passed = weight_diff < 1e-5 and output_diff < 1e-4
    print("Check against softmax(Q Kᵀ / √d_k) V computed by hand in numpy (head 0):")
    print(f"  head 0 weights: max |layer - numpy| = {weight_diff:.1e}")
    print(f"  head 0 context (weights @ V) for 'pizza': {np.round(context[0, -1], 3)}")
    # The output mixes all heads, so this line checks the same formula for every head at once.
    print(f"  layer output (all heads, after the output projection): "
          f"max |layer - numpy| = {output_diff:.1e}")
    print(f"  hand-computed check: {'PASSED' if passed else 'FAILED'}\n")

    save_heatmaps(scores, WORDS, args.output)
    print(f"Saved heatmap of both heads to {args.output}")
    return passed


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
