"""A tagger run applied to files: `keras-llm predict` (a file tagged), and the predictor `evaluate` shares.

:class:`TaggerPredictor` runs the export's own graph (:class:`~keras_llm.export.tagger.TaggerModule`):
raw texts are split into words by the serving rule and tagged by ``serve``; pre-split words are tagged
as given by ``tag_words``. So ``predict`` gives the SavedModel's tags (``evaluate``:
:mod:`keras_llm.runs.tagger_evaluation`).

- ``predict``: a CoNLL file gets one more column (the predicted tag; ``_`` for a word past
  ``max_length``); a CSV/TSV/JSONL table gets ``tokens``, ``predicted_tags`` and ``tag_scores``
  (space-separated in CSV/TSV, whose words never hold spaces; lists in JSONL).

Which kind an input is: ``--format`` if given; else ``*.conllu``/``*.conll`` are CoNLL, ``*.csv``
and ``*.jsonl`` tables, and a ``*.tsv`` (CoNLL files are often named so) a table only when its
first line names the text column.

Pre-tokenised input (``--pretokenized``): a CoNLL file's gold tokens are always tagged as given.
``predict --pretokenized`` splits a table's texts at whitespace only, and reads a ``*.txt`` file as
one pre-tokenised sentence per line, written back as CoNLL (``token<TAB>tag`` lines, a blank line
after each sentence; ``_`` for a token past ``max_length``).

Example:
    >>> predict_tagger_file("runs/ner", "test.conllu", "tagged.conllu")
"""

import tensorflow as tf

from keras_llm.data.conll import guess_format
from keras_llm.data.conll_stream import ConllReader, write_tagged_sentence
from keras_llm.data.table_stream import TableReader, TableWriter, check_input_file, first_line, table_format_of
from keras_llm.errors import UserInputError
from keras_llm.evaluation.prediction_files import check_output_file
from keras_llm.evaluation.progress import Progress
from keras_llm.export.tagger import TaggerModule
from keras_llm.files import atomic_output
from keras_llm.runs.file_commands import batch_size_of, batches
from keras_llm.runs.layout import read_run_info
from keras_llm.runs.tagger import MODEL_KIND, load_tagger_run

UNTAGGED = "_"
TABLE_COLUMNS = ("tokens", "predicted_tags", "tag_scores")


class TaggerPredictor:
    """The export's tagging graph around a loaded run, for raw texts and for pre-split words."""

    def __init__(self, model, tokenizer, run_info):
        self.module = TaggerModule(model, tokenizer, run_info["tags"], run_info["training"]["max_length"])
        self._tag_words = tf.function(self.module.tag_words, input_signature=[
            tf.RaggedTensorSpec([None, None], tf.string, ragged_rank=1, row_splits_dtype=tf.int64)])

    @staticmethod
    def _rows(out):
        lengths = out["lengths"].numpy()
        tokens, tags, scores = (out[key].numpy() for key in ("tokens", "tags", "scores"))
        return [([t.decode("utf-8") for t in tokens[i, :n]], [t.decode("utf-8") for t in tags[i, :n]],
                 [float(s) for s in scores[i, :n]]) for i, n in enumerate(lengths)]

    def tag_texts(self, texts):
        """``[(words, tags, scores)]`` of raw texts (words past ``max_length`` are left out, as the export does)."""
        return self._rows(self.module.serve(tf.constant(texts, tf.string)))

    def tag_token_lists(self, sentences):
        """``[(words, tags, scores)]`` of word lists tagged as given (words past ``max_length`` left out)."""
        return self._rows(self._tag_words(tf.ragged.constant(sentences, dtype=tf.string, row_splits_dtype=tf.int64)))

    def tag_sentences(self, sentences):
        """One tag list per word list; ``None`` for a word past ``max_length`` (not tagged)."""
        out = self.tag_token_lists(sentences)
        return [tags + [None] * (len(words) - len(tags)) for words, (_, tags, _) in zip(sentences, out)]


def input_kind(path, input_format, text_column):
    """``"conll"``, ``"conllu"``, ``"csv"``, ``"tsv"`` or ``"jsonl"`` (see the module docstring)."""
    if input_format:
        return input_format
    name = str(path).lower()
    if name.endswith((".conllu", ".conll")):
        return guess_format(name)
    kind = table_format_of(name)
    if kind == "tsv":
        check_input_file(path)
        return "tsv" if text_column in (field.strip() for field in first_line(path).split("\t")) else "conll"
    return kind or "conll"


def _predict_conll(predictor, reader, handle, batch_size, total):
    progress = Progress(total, "predict", unit="sentences")
    for batch in batches(reader.sentences(), batch_size):
        with_words = [sentence.words for sentence in batch if sentence.words]
        tags = iter(predictor.tag_sentences(with_words) if with_words else [])
        for sentence in batch:
            predicted = next(tags) if sentence.words else []
            write_tagged_sentence(handle, sentence, [tag or UNTAGGED for tag in predicted], reader.format)
        progress.advance(len(batch))
    progress.close()


def _predict_table(predictor, reader, column, writer, batch_size, total, pretokenized=False):
    progress = Progress(total, "predict", unit="rows")
    for batch in batches(reader.rows(), batch_size):
        texts = [reader.text(row, column, line) for line, row in batch]
        tagged = predictor.tag_token_lists([text.split() for text in texts]) if pretokenized else \
            predictor.tag_texts(texts)
        for (_, row), (words, tags, scores) in zip(batch, tagged):
            writer.write(row, [words, tags, scores])
        progress.advance(len(batch))
    progress.close()


def _text_lines(path):
    """The lines of a UTF-8 text file (without line ends), read lazily; bad UTF-8 is one error line."""
    with open(path, encoding="utf-8-sig") as handle:
        try:
            for line in handle:
                yield line.rstrip("\r\n")
        except UnicodeDecodeError as error:
            raise UserInputError(f"{path} is not UTF-8 text ({error.reason})") from None


def _predict_text_lines(predictor, path, handle, batch_size, total):
    """One pre-tokenised sentence per line in, CoNLL (token<TAB>tag, blank line after each) out."""
    progress = Progress(total, "predict", unit="sentences")
    for batch in batches(_text_lines(path), batch_size):
        sentences = [line.split() for line in batch]
        with_words = [words for words in sentences if words]
        tags = iter(predictor.tag_sentences(with_words) if with_words else [])
        for words in sentences:
            for word, tag in zip(words, next(tags) if words else []):
                handle.write(f"{word}\t{tag or UNTAGGED}\n")
            handle.write("\n")
        progress.advance(len(batch))
    progress.close()


def predict_tagger_file(run_dir, input_file, output_file, batch_size=None, text_column=None, input_format=None,
                        pretokenized=False, log=print):
    """Tag a CoNLL file (a predicted-tag column appended) or the texts of a CSV/TSV/JSONL table
    (:data:`TABLE_COLUMNS` appended), streamed in batches and written atomically.

    With ``pretokenized``, a table's texts are split at whitespace only and a ``*.txt`` file is
    read as one pre-tokenised sentence per line (written as CoNLL; see the module docstring).

    Returns:
        the number of sentences (CoNLL) or rows (tables) tagged.
    """
    info = read_run_info(run_dir, expected_model=MODEL_KIND)
    column = text_column or "text"
    text_file = pretokenized and not input_format and str(input_file).lower().endswith(".txt")
    kind = "text" if text_file else input_kind(input_file, input_format, column)
    if kind == "text":
        check_input_file(input_file)
        reader = None
        total = sum(1 for _ in _text_lines(input_file))
    elif kind in ("conll", "conllu"):
        reader = ConllReader(input_file, kind)
        total = reader.count()
    else:
        reader = TableReader(input_file, kind)
        reader.require_column(column)
        total = reader.count(column)
    check_output_file(output_file, input_file)
    table = isinstance(reader, TableReader)
    with atomic_output(output_file, newline="") as handle:
        writer = TableWriter(handle, reader, TABLE_COLUMNS) if table else None  # a clash fails here, early
        model, tokenizer, info = load_tagger_run(run_dir)
        predictor, size = TaggerPredictor(model, tokenizer, info), batch_size_of(info, batch_size)
        if kind == "text":
            _predict_text_lines(predictor, input_file, handle, size, total)
        elif table:
            _predict_table(predictor, reader, column, writer, size, total, pretokenized)
        else:
            _predict_conll(predictor, reader, handle, size, total)
    log(f"tagged {total} {'rows' if table else 'sentences'}: {output_file}")
    return total
