"""`keras-llm evaluate` and `predict` of an extractive-QA run on files.

- evaluate: a SQuAD v1.1 JSON file → exact match and token F1 (SQuAD v1.1 normalisation,
  :mod:`keras_llm.evaluation.squad`) in ``metrics.json``, the answers in ``predictions.json``
  (``{id: answer}``, the format the official evaluation script reads).
- predict: a SQuAD JSON file → that ``{id: answer}`` JSON; a JSONL file whose rows hold
  ``question`` and ``context`` → the same rows with ``answer``, ``score``, ``start``, ``end``
  added (read and written one batch at a time).

Answers come from :func:`keras_llm.runs.span_qa.answer_batches`, the decoding the SavedModel runs.
"""

import json
import os

from keras_llm.data.squad import read_squad
from keras_llm.errors import UserInputError
from keras_llm.evaluation.prediction_files import check_output_file, check_writable_directory
from keras_llm.evaluation.progress import Progress
from keras_llm.evaluation.report import default_output_dir, write_evaluation
from keras_llm.evaluation.squad import squad_scores
from keras_llm.files import atomic_output, atomic_write_text
from keras_llm.runs.file_commands import batch_size_of, batches, trained_epochs
from keras_llm.runs.layout import read_run_info
from keras_llm.runs.span_qa import MODEL_KIND, load_qa_run, reader_function


def _answer_examples(reader, examples, batch_size, what):
    # Tracing the reading into one graph pays off only past one batch of questions.
    read = reader_function(reader, compiled=len(examples) > batch_size)
    progress, answers = Progress(len(examples), what, unit="questions"), []
    for batch in batches(examples, batch_size):
        result = read([e.question for e in batch], [e.context for e in batch])
        answers += [text.decode("utf-8") for text in result["answer"]]
        progress.advance(len(batch))
    progress.close()
    return {example.id: answer for example, answer in zip(examples, answers)}


def evaluate_qa_file(run_dir, test_file, output_dir=None, batch_size=None, log=print):
    """Score the run's best model on a SQuAD v1.1 JSON file; returns the metrics (also in ``metrics.json``)."""
    info = read_run_info(run_dir, expected_model=MODEL_KIND)
    output_dir = check_writable_directory(output_dir or default_output_dir(run_dir, test_file))
    examples = read_squad(test_file)
    if not any(example.answers for example in examples):
        raise UserInputError(f"{test_file} has no reference answers to score against (use keras-llm predict)")
    reader = load_qa_run(run_dir)
    predictions = _answer_examples(reader, examples, batch_size_of(info, batch_size), "evaluate")
    scores = squad_scores(predictions, {e.id: [text for text, _ in e.answers] for e in examples})
    atomic_write_text(os.path.join(output_dir, "predictions.json"), json.dumps(predictions, indent=1) + "\n")
    metrics = {"exact_match": scores["exact_match"], "f1": scores["f1"],
               "counts": {"questions": scores["questions"],
                          "unanswerable_skipped": len(examples) - scores["questions"]},
               "test_file": os.path.abspath(test_file)}
    report = (f"{run_dir} on {test_file}: exact match {scores['exact_match']:.2f}, F1 {scores['f1']:.2f} "
              f"({scores['questions']} questions; SQuAD v1.1 normalisation)")
    write_evaluation(run_dir, output_dir, metrics, report, step=trained_epochs(run_dir), log=log)
    return metrics


def _jsonl_rows(path):
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise UserInputError(f"{path} line {number} is not JSON") from None
            if not isinstance(row, dict) or not isinstance(row.get("question"), str) or \
                    not isinstance(row.get("context"), str):
                raise UserInputError(f"{path} line {number}: each row needs string fields \"question\" and \"context\"")
            yield row


def predict_qa_file(run_dir, input_file, output_file, batch_size=None):
    """Answer the questions of ``input_file`` (SQuAD JSON, or JSONL rows with ``question``/``context``)."""
    info = read_run_info(run_dir, expected_model=MODEL_KIND)
    if not os.path.isfile(input_file):
        raise UserInputError(f"--input {input_file}: file not found")
    check_output_file(output_file, input_file)
    size = batch_size_of(info, batch_size)
    reader = load_qa_run(run_dir)
    if input_file.lower().endswith(".jsonl"):
        read = reader_function(reader)
        with atomic_output(output_file) as out:
            for rows in batches(_jsonl_rows(input_file), size):
                result = read([r["question"] for r in rows], [r["context"] for r in rows])
                for row, answer, score, start, end in zip(rows, result["answer"], result["score"], result["start"],
                                                          result["end"]):
                    row.update(answer=answer.decode("utf-8"), score=round(float(score), 6), start=int(start),
                               end=int(end))
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    predictions = _answer_examples(reader, read_squad(input_file), size, "predict")
    with atomic_output(output_file) as out:
        out.write(json.dumps(predictions, indent=1) + "\n")
