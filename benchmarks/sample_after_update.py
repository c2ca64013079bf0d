"""Seconds for a text sample right after a weight change: what each evaluation's sample costs in training.

The model is the baby GPT of ``gpt-shakespeare-char`` (4 layers, 4 heads, width 128, context 64,
vocabulary 65) with random weights. Each round changes one weight's value (``assign_sub`` on the final
norm's offset, as an optimizer step would change every weight), then times ``generate`` once, then
once more with no change in between. Samples of ``--new-tokens`` (default 300, longer than the
context, so the window slides) and of 20 (no slide) are timed. Before the decode loop's slide left its
``tf.cond`` (2026-11-30), the first sample after a change took ~1.7 s and the second 0.06 s on the
project's 2-core CPU: XLA compiled the loop again after every weight change.

Run:
    .venv/bin/python benchmarks/sample_after_update.py --rounds 5
"""

import argparse
import statistics
import time

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras

from keras_llm.generation import DecodingOptions, generate
from keras_llm.models import GPTConfig, build_gpt
from keras_llm.tokenizers import CharTokenizer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=300)
    args = parser.parse_args()
    tokenizer = CharTokenizer.train("\n !',-.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz&$3")
    keras.utils.set_random_seed(0)
    model = build_gpt(GPTConfig(vocab_size=len(tokenizer.vocabulary), max_length=64, num_layers=4, num_heads=4,
                                hidden_dim=128))
    offset = model.get_layer("final_norm").beta
    for new_tokens in (args.new_tokens, 20):
        options = DecodingOptions(strategy="sample", max_new_tokens=new_tokens, temperature=0.8, top_k=200, seed=1)
        started = time.perf_counter()
        generate(model, tokenizer, "\n", options)
        first = time.perf_counter() - started
        after_change, again = [], []
        for _ in range(args.rounds):
            offset.assign_sub(0.01 * keras.ops.ones_like(offset))
            for times in (after_change, again):
                started = time.perf_counter()
                generate(model, tokenizer, "\n", options)
                times.append(time.perf_counter() - started)
        print(f"{new_tokens} new tokens: first call {first:.2f} s; median after a weight change "
              f"{statistics.median(after_change):.3f} s, then {statistics.median(again):.3f} s "
              f"({args.rounds} rounds)", flush=True)


if __name__ == "__main__":
    main()
