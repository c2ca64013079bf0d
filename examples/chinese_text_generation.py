"""A character-level GPT that writes Chinese sentences, scored on sentences it never saw.

What it teaches:

1. Character-level tokenization suits Chinese: there are no spaces to split words on, and
   one character is roughly one syllable and one unit of meaning. ``CharTokenizer.train``
   gives one id per distinct character (about 3,600 here, so the embedding table is most of
   this small model's parameters).
2. One sentence per line makes "\\n" an end-of-sentence token: the model learns to end its
   sentences, and generation stops there (``stop_tokens=["\\n"]``).
3. Perplexity (exp of the validation cross-entropy) measures how surprised the model is by
   unseen text, one character at a time.
4. Continuation quality is measured like translation or summarisation: give the model the
   first half of a held-out sentence, let it finish the sentence greedily, and compare its
   words with the true second half using ROUGE (recall of n-grams) and BLEU (precision of
   n-grams, with a brevity penalty). Chinese has no word boundaries, so both are computed on
   characters.

The data is the Chinese side of the Tatoeba English–Chinese pairs bundled in data/cmn_eng/
(CC-BY 2.0 France; attribution: www.manythings.org/anki and tatoeba.org).

Run it (about 3 minutes on 2 CPU cores; TensorBoard logs and checkpoints go to --run-dir):

    python examples/chinese_text_generation.py
    python examples/chinese_text_generation.py --quick        # tiny model, tens of steps
    tensorboard --logdir runs/chinese_text_generation/logs

ROUGE needs the ``rouge-score`` package (keras-hub's RougeN/RougeL wrap it); without it the
ROUGE rows say so and BLEU (pure keras-hub) is still reported.
"""

import argparse
import math
import time
from pathlib import Path

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras
import keras_hub
import numpy as np

from keras_llm.data import split_train_validation
from keras_llm.generation import DecodingOptions, generate
from keras_llm.models import GPTConfig, build_gpt, parameter_count
from keras_llm.tokenizers import CharTokenizer
from keras_llm.training import TrainingConfig, train_language_model

DATA = Path(__file__).resolve().parents[1] / "data" / "cmn_eng" / "cmn.txt"
NEWLINE = "\n"

# Full run: measured on 2 shared CPU cores (see the module docstring for the time).
DEFAULTS = dict(steps=1000, batch_size=32, context=32, layers=2, heads=4, width=128, learning_rate=2e-3,
                eval_interval=250, eval_batches=20, num_prompts=50, max_new_tokens=48)
# --quick: only proves that every stage runs (the smoke test); the numbers mean little.
# A high learning rate gets it past "always predict 。" within the step budget.
QUICK = dict(steps=100, batch_size=16, context=16, layers=1, heads=2, width=32, learning_rate=1e-2,
             eval_interval=100, eval_batches=2, num_prompts=50, max_new_tokens=12)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DATA), help="cmn.txt (English<TAB>Chinese<TAB>attribution)")
    parser.add_argument("--run-dir", default="runs/chinese_text_generation",
                        help="TensorBoard logs, backups and .keras files")
    parser.add_argument("--quick", action="store_true", help="tiny model, tens of steps (smoke test)")
    for name, value in DEFAULTS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=None,
                            help=f"default {value} ({QUICK[name]} with --quick)")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--verbose", type=int, default=1, help="Keras verbosity: 0, 1 (bar) or 2")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def read_chinese_sentences(path):
    """Column 2 of the TSV, in file order (which is roughly shortest sentence first)."""
    sentences = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            columns = line.rstrip("\n").split("\t")
            if len(columns) >= 2 and columns[1].strip():
                sentences.append(columns[1].strip())
    return sentences


def held_out_sentences(sentences, corpus, train_length, count):
    """Up to ``count`` sentences lying wholly in the validation part of ``corpus``.

    The training loop splits the token stream by position; with one id per character the
    token cut is the character cut, so the sentences starting at or after it were never
    trained on. Anki lists a Chinese sentence once per English translation, so a few
    validation sentences also occur in the training part: those are skipped, otherwise
    the scores would reward memorisation. Picks are spread evenly over the validation part,
    as the file is sorted by length and the last lines are the longest.
    """
    seen = set(corpus[:train_length].split(NEWLINE))
    candidates, start = [], 0
    for sentence in sentences:
        if start >= train_length and sentence not in seen and len(sentence) >= 4:
            candidates.append(sentence)
        start += len(sentence) + 1
    if len(candidates) <= count:
        return candidates
    picks = np.linspace(0, len(candidates) - 1, count).round().astype(int)
    return [candidates[i] for i in picks]


def spaced_characters(text):
    """"你好。" → "你 好 。": BLEU's tokenizer splits on spaces, so each character is a word."""
    return " ".join(ch for ch in text if not ch.isspace())


def code_point_tokens(text):
    """"你好" → "u4f60 u597d": one ASCII word per character, for ROUGE.

    rouge-score's tokenizer lower-cases and then deletes everything outside [a-z0-9], so
    spaced Chinese characters would all vanish (every score 0). Writing each character as
    its code point keeps one distinct token per character, i.e. character-level ROUGE.
    """
    return " ".join(f"u{ord(ch):x}" for ch in text if not ch.isspace())


def make_rouge_metrics():
    """keras-hub ROUGE-1, ROUGE-2 and ROUGE-L, or the reason they cannot be built."""
    try:
        return {"ROUGE-1 F1": keras_hub.metrics.RougeN(order=1),
                "ROUGE-2 F1": keras_hub.metrics.RougeN(order=2),
                "ROUGE-L F1": keras_hub.metrics.RougeL()}, None
    except ImportError as error:  # keras-hub raises this when rouge-score is not installed
        return {}, str(error)


def score_continuations(references, hypotheses):
    """Character-level corpus BLEU and mean ROUGE F1, all in [0, 1] (keras-hub's scale)."""
    scores = {}
    rouge, rouge_error = make_rouge_metrics()
    for name, metric in rouge.items():
        metric.update_state([code_point_tokens(r) for r in references],
                            [code_point_tokens(h) for h in hypotheses])
        scores[name] = float(metric.result()["f1_score"])
    # Plain BLEU-4 is 0 whenever no continuation shares 4 characters in a row with its
    # reference, common for a small model; the smoothed variant (Lin & Och 2004, keras-hub's
    # smooth=True) still ranks such models.
    for name, smooth in (("BLEU", False), ("BLEU smoothed", True)):
        bleu = keras_hub.metrics.Bleu(max_order=4, smooth=smooth)
        # One reference per sentence: y_true is (batch, num_references).
        bleu.update_state([[spaced_characters(r)] for r in references],
                          [spaced_characters(h) for h in hypotheses])
        scores[name] = float(bleu.result())
    return scores, rouge_error


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    started = time.perf_counter()

    sentences = read_chinese_sentences(args.data)
    # Trailing newline: the last sentence ends like all the others.
    corpus = NEWLINE.join(sentences) + NEWLINE
    # The vocabulary comes from the whole corpus (as nanoGPT does), so no validation character
    # is unknown; the model still never trains on the validation text.
    tokenizer = CharTokenizer.train(corpus)
    token_ids = np.asarray(tokenizer.encode(corpus), dtype=np.int32)
    train_ids, valid_ids = split_train_validation(token_ids)  # the same 90/10 cut training uses
    print(f"{len(sentences):,} sentences, {len(token_ids):,} characters, vocabulary {tokenizer.vocab_size:,}; "
          f"train {len(train_ids):,} / validation {len(valid_ids):,} characters")

    model = build_gpt(GPTConfig(vocab_size=tokenizer.vocab_size, max_length=args.context, num_layers=args.layers,
                                num_heads=args.heads, hidden_dim=args.width))
    print(f"GPT: {args.layers} layers, width {args.width}, context {args.context}, "
          f"{parameter_count(model):,} parameters")
    config = TrainingConfig(steps=args.steps, batch_size=args.batch_size, learning_rate=args.learning_rate,
                            min_learning_rate=args.learning_rate / 10,
                            warmup_steps=max(args.steps // 20, 1), eval_interval=args.eval_interval,
                            eval_batches=args.eval_batches, seed=args.seed)

    def sample():
        # A sampled sentence after each evaluation shows the model learning to write (and end) sentences.
        return "我" + generate(model, tokenizer, "\n我", DecodingOptions(
            strategy="sample", max_new_tokens=args.max_new_tokens, temperature=0.8, top_k=20, seed=args.seed,
            stop_tokens=[NEWLINE]))

    history = train_language_model(model, token_ids, args.run_dir, config, sample_fn=sample, verbose=args.verbose)
    val_loss = float(history.history["val_loss"][-1])
    train_seconds = time.perf_counter() - started

    held_out = held_out_sentences(sentences, corpus, len(train_ids), args.num_prompts)
    cuts = [len(s) // 2 for s in held_out]
    # "\n" first: in training every sentence follows a newline, so this says "a sentence starts here".
    prompts = [NEWLINE + s[:cut] for s, cut in zip(held_out, cuts)]
    references = [s[cut:] for s, cut in zip(held_out, cuts)]
    continuations = generate(model, tokenizer, prompts, DecodingOptions(
        strategy="greedy", max_new_tokens=args.max_new_tokens, stop_tokens=[NEWLINE]))
    scores, rouge_error = score_continuations(references, continuations)

    metrics = {"val loss": val_loss, "val perplexity": math.exp(val_loss), **scores}
    print(f"\nTrained {args.steps} steps in {train_seconds:.0f} s. Continuations of {len(held_out)} held-out "
          f"sentences (first half given, greedy until \"\\n\" or {args.max_new_tokens} characters), scored "
          "on characters: references and continuations are split into single characters separated by "
          "spaces before scoring (for ROUGE each character is written as its code point, as rouge-score "
          "deletes non-ASCII text). ROUGE and BLEU are in [0, 1].")
    print(f"\n| {'metric':<15} | {'value':>8} |\n|{'-' * 17}|{'-' * 10}|")
    for name in ("val loss", "val perplexity", "ROUGE-1 F1", "ROUGE-2 F1", "ROUGE-L F1", "BLEU",
                 "BLEU smoothed"):
        value = f"{metrics[name]:8.3f}" if name in metrics else f"{'n/a':>8}"
        print(f"| {name:<15} | {value} |")
    if rouge_error:
        print(f"ROUGE not computed: {rouge_error}")
    examples = list(zip(prompts, continuations, references))
    print("\nprompt → continuation / reference")
    for prompt, continuation, reference in examples[:3]:
        print(f"  {prompt.strip()} → {continuation or '(empty)'} / {reference}")
    return {"metrics": metrics, "examples": examples, "rouge_error": rouge_error}


if __name__ == "__main__":
    main()
