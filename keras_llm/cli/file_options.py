"""Options of `keras-llm evaluate` / `predict` that several task plug-ins read, added once whichever adds first.

Each plug-in still lists the ones it honours in ``EVALUATE_OPTIONS`` / ``PREDICT_OPTIONS``;
`keras-llm` refuses a given option that the run's task does not read.

Example:
    >>> add_option_once(predict_parser, "--text-column", help="...")
"""

INPUT_FORMATS = ("csv", "tsv", "jsonl", "conll", "conllu")


def add_option_once(parser, *flags, **options):
    """``parser.add_argument(*flags, **options)`` unless another plug-in added the option already."""
    if not any(flag in parser._option_string_actions for flag in flags):  # argparse has no public lookup
        parser.add_argument(*flags, **options)


def add_text_column_option(parser):
    add_option_once(parser, "--text-column", help="the column (JSONL: key) holding the texts "
                                                  "(default: the run's text column, else 'text'; GPT runs: 'prompt'; "
                                                  "translator runs: 'source')")


def add_input_format_option(parser):
    add_option_once(parser, "--format", dest="input_format", choices=INPUT_FORMATS,
                    help="the input's format (default: from the file name; a *.tsv given to a tagger run is "
                         "CoNLL unless its first line names the text column)")
