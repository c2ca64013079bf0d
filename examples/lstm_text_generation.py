"""The classic Keras LSTM text generator, done right: a character-level LSTM on tiny Shakespeare.

What it teaches:

1. A recurrent language model is Embedding → LSTM → Dense: the embedding turns each character
   id into a vector, the LSTM reads the characters left to right carrying a state, and the
   Dense layer turns the state at every position into scores (logits) for the next character.
2. Training on next-token targets: each example is a window of characters, the targets are
   the same window shifted by one, and the loss is averaged over every position.
3. Perplexity, exp(validation cross-entropy), measures how surprised the model is by text it
   never saw; guessing uniformly among the V characters gives perplexity V.
4. Generation: greedy decoding (always the most likely character) quickly falls into loops;
   sampling with a temperature trades coherence for variety.

What "done right" fixes compared with the classic version:

* Next-token targets at every position. The classic script cut the text into n-gram prefixes
  and trained the model to predict only the one word after each prefix (with
  ``return_sequences=False``); this uses every position of every window as a training
  example and the model learns to read text of any length.
* A sparse loss on logits. Instead of one-hot targets and a softmax layer feeding
  ``categorical_crossentropy``, the targets stay integer ids and the model outputs logits for
  ``SparseCategoricalCrossentropy(from_logits=True)``, which is cheaper (no V-wide one-hot
  targets) and numerically stable (log-softmax is computed in one step).
* Validation on unseen text: the last 10% of the corpus is held out (split by position, not at
  random, so no window overlaps training text) and the loss/perplexity reported is on it.
* Generation carries the LSTM state from character to character (one step per new
  character) instead of re-reading a fixed-length prefix each time, and gradients are clipped,
  as recurrent networks need.

Data: data/tiny_shakespeare/input.txt (see its README for the source). Run it (about 3
minutes on 2 CPU cores):

    python examples/lstm_text_generation.py
    python examples/lstm_text_generation.py --quick          # seconds: a smoke test
    python examples/lstm_text_generation.py --steps 5000     # better text, ~10 minutes
"""

import argparse
import math
import time
from pathlib import Path

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras
import numpy as np

from keras_llm.data import language_model_dataset, split_train_validation, validation_dataset
from keras_llm.errors import UserInputError
from keras_llm.models.rnn import build_rnn_lm, rnn_lm_initial_state, rnn_lm_step
from keras_llm.tokenizers import CharTokenizer

DATA = Path(__file__).resolve().parents[1] / "data" / "tiny_shakespeare" / "input.txt"
SEED_TEXT = "ROMEO:"

# Full run: about 0.12 s per step on 2 shared CPU cores.
DEFAULTS = dict(steps=1000, batch_size=32, sequence_length=100, units=256, embedding_dim=64, learning_rate=3e-3,
                eval_interval=200, eval_batches=20, generate_length=200)
# --quick: only proves that every stage runs (the smoke test); the numbers mean little.
QUICK = dict(steps=30, batch_size=16, sequence_length=32, units=32, embedding_dim=16, learning_rate=1e-2,
             eval_interval=15, eval_batches=2, generate_length=40)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DATA), help="a plain-text corpus")
    parser.add_argument("--quick", action="store_true", help="tiny model, a few steps (smoke test)")
    for name, value in DEFAULTS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=None,
                            help=f"default {value} ({QUICK[name]} with --quick)")
    parser.add_argument("--temperature", type=float, default=0.8, help="for the sampled continuation")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--verbose", type=int, default=2, help="Keras verbosity: 0, 1 (bar) or 2 (a line per epoch)")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
        if name != "learning_rate" and getattr(args, name) <= 0:
            raise UserInputError(f"--{name.replace('_', '-')} must be a positive integer; got {getattr(args, name)}")
    if args.learning_rate <= 0:
        raise UserInputError(f"--learning-rate must be positive; got {args.learning_rate}")
    return args


def generate_text(model, tokenizer, seed_text, next_words, temperature=None, rng=None):
    """Continue ``seed_text`` by ``next_words`` tokens (characters here) and return seed + continuation.

    The seed is read one token at a time to build the LSTM state; then each new token is
    chosen from the logits and fed back, so every step costs one LSTM step.

    Args:
        model: a language model from ``build_rnn_lm``.
        tokenizer: the tokenizer the model was trained with.
        seed_text: the prompt; it must contain at least one known token.
        next_words: how many tokens to add.
        temperature: None or 0 for greedy decoding (argmax); otherwise sample from
            ``softmax(logits / temperature)`` (below 1 is safer, above 1 wilder).
        rng: a ``numpy.random.Generator`` for sampling (a fixed-seed one by default).

    Returns:
        str: ``seed_text`` followed by the generated text.
    """
    seed_ids = tokenizer.encode(seed_text)
    if not seed_ids:
        raise UserInputError(f"seed text {seed_text!r} has no token the model knows")
    if temperature is not None and temperature < 0:
        raise UserInputError(f"temperature must be None, 0 or positive; got {temperature}")
    rng = rng if rng is not None else np.random.default_rng(0)
    states = rnn_lm_initial_state(model, 1)
    for token in seed_ids:
        logits, states = rnn_lm_step(model, np.array([token], np.int32), states)
    new_ids = []
    for _ in range(next_words):
        scores = np.asarray(logits[0], np.float64)
        if not temperature:
            token = int(np.argmax(scores))
        else:
            scores = scores / temperature
            probs = np.exp(scores - scores.max())
            token = int(rng.choice(len(probs), p=probs / probs.sum()))
        new_ids.append(token)
        logits, states = rnn_lm_step(model, np.array([token], np.int32), states)
    return seed_text + tokenizer.decode(new_ids)


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    started = time.perf_counter()

    text = Path(args.data).read_text(encoding="utf-8")
    tokenizer = CharTokenizer.train(text)
    token_ids = np.asarray(tokenizer.encode(text), dtype=np.int32)
    train_ids, valid_ids = split_train_validation(token_ids)
    print(f"{len(token_ids):,} characters, vocabulary {tokenizer.vocab_size}; "
          f"train {len(train_ids):,} / validation {len(valid_ids):,} (the last 10%, never trained on)")
    train = language_model_dataset(train_ids, args.sequence_length, args.batch_size, seed=args.seed)
    valid = validation_dataset(valid_ids, args.sequence_length, args.batch_size, args.eval_batches)

    model = build_rnn_lm(tokenizer.vocab_size, cell="lstm", units=args.units, embedding_dim=args.embedding_dim)
    print(f"Embedding({args.embedding_dim}) → LSTM({args.units}) → Dense({tokenizer.vocab_size}) logits: "
          f"{model.count_params():,} parameters; windows of {args.sequence_length} characters")
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate, global_clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        # The recurrent loop runs faster un-jitted on CPU (measured: XLA made each step ~2x slower).
        jit_compile=False,
    )
    epochs = max(args.steps // args.eval_interval, 1)
    history = model.fit(train, epochs=epochs, steps_per_epoch=args.eval_interval, validation_data=valid,
                        verbose=args.verbose, shuffle=False)
    val_loss = float(history.history["val_loss"][-1])
    train_seconds = time.perf_counter() - started

    greedy = generate_text(model, tokenizer, SEED_TEXT, args.generate_length)
    sampled = generate_text(model, tokenizer, SEED_TEXT, args.generate_length, temperature=args.temperature,
                            rng=np.random.default_rng(args.seed))
    print(f"\nTrained {epochs * args.eval_interval} steps in {train_seconds:.0f} s.")
    print(f"validation loss {val_loss:.3f}, perplexity {math.exp(val_loss):.2f} "
          f"(uniform guessing: {tokenizer.vocab_size})")
    print(f"\n--- greedy continuation of {SEED_TEXT!r} ---\n{greedy}")
    print(f"\n--- sampled continuation of {SEED_TEXT!r} (temperature {args.temperature}) ---\n{sampled}")
    return {"val_loss": val_loss, "val_perplexity": math.exp(val_loss), "greedy": greedy, "sampled": sampled,
            "model": model, "tokenizer": tokenizer}


if __name__ == "__main__":
    main()
