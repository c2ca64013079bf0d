"""A trained seq2seq run applied to files: BLEU/chrF (and ROUGE for summarizers) on held-out pairs,
outputs for a file.

    evaluate_translator_run("runs/transformer-spa-eng", "test.tsv")                 # greedy; num_beams=4 for beams
    predict_translator_file("runs/transformer-spa-eng", "english.txt", "spanish.txt", options)

The test file is a pairs file in the format training reads (:func:`keras_llm.data.pairs.read_pairs`),
with the run's source and target columns (TSV) or fields (JSONL, where a list of references is scored
as one example against all of them).
"""

import os

from keras_llm.data.pairs import read_pairs, token_lengths
from keras_llm.evaluation.prediction_files import (
    RecordFile,
    check_output_file,
    check_writable_directory,
)
from keras_llm.evaluation.progress import Progress
from keras_llm.evaluation.report import default_output_dir, write_evaluation
from keras_llm.evaluation.translation import translation_scores
from keras_llm.files import atomic_output
from keras_llm.generation.seq2seq_search import translate
from keras_llm.runs.file_commands import batches
from keras_llm.runs.layout import read_run_info
from keras_llm.runs.translator import MODEL_KIND, load_translator_run
from keras_llm.training.rouge import rouge_scores

_EXAMPLES = 5


def _batch_size(batch_size, info):
    return batch_size or int(info.get("training", {}).get("batch_size", 64))


def pair_format(info):
    """The columns (TSV) and fields (JSONL) a run was trained with, as ``read_pairs`` keywords."""
    return {"source_column": info.get("source_column", 0), "target_column": info.get("target_column", 1),
            "source_field": info.get("source_field", "source"), "target_field": info.get("target_field", "target")}


def evaluate_translator_run(run_dir, test_file, options, output_dir=None, batch_size=None, log=print):
    """Translate the sources of ``test_file`` and score them against its targets (BLEU, chrF, and
    ROUGE-1/2/L F1, each the best over an example's references, for runs that train with ROUGE).

    Args:
        run_dir: a translator run directory (its ``best.keras``).
        test_file: pairs file as training reads it, with the run's source/target columns.
        options: :class:`~keras_llm.generation.DecodingOptions` (greedy, or ``num_beams`` > 1).
        output_dir: default ``<run_dir>/evaluation/<test file stem>``; gets ``metrics.json`` and
            ``translations.tsv`` (source, reference, translation).
        batch_size: sources per batch (default the run's training batch size).

    Returns:
        The metrics dict. BLEU uses the run's ``bleu_tokenize`` (13a, or zh); both scores are
        case-insensitive when the target tokenizer lowercases (it cannot write capitals). ROUGE uses
        the run's ``rouge_tokenize`` (words with stemming, or characters for Chinese).
    """
    info = read_run_info(run_dir, expected_model=MODEL_KIND)
    sources, references = read_pairs(test_file, **pair_format(info), references=True)
    output_dir = check_writable_directory(output_dir or default_output_dir(run_dir, test_file))
    model, source_tokenizer, target_tokenizer, info = load_translator_run(run_dir)
    progress = Progress(len(sources), "translating", unit="pairs")
    hypotheses = []
    for batch in batches(sources, _batch_size(batch_size, info)):
        hypotheses += translate(model, source_tokenizer, target_tokenizer, batch, options)
        progress.advance(len(batch))
    progress.close()
    tokenize = info.get("training", {}).get("bleu_tokenize", "13a")
    lowercase = bool(getattr(target_tokenizer, "lowercase", False))
    scores = translation_scores(hypotheses, references, tokenize=tokenize, lowercase=lowercase)
    rouge_tokenize = info.get("training", {}).get("rouge_tokenize")
    max_source = int(info["model_config"]["max_source_length"])
    truncated = int((token_lengths(source_tokenizer, sources) > max_source).sum())
    metrics = {"bleu": scores["bleu"], "chrf": scores["chrf"], "bleu_details": scores["bleu_details"],
               "signatures": scores["signatures"],
               **({"rouge": rouge_scores(hypotheses, references, rouge_tokenize),
                   "rouge_tokenize": rouge_tokenize} if rouge_tokenize else {}),
               "counts": {"pairs": len(sources), "sources_truncated": truncated,
                          # several references per source (JSONL lists): how many in all
                          **({"references": sum(map(len, references))} if max(map(len, references)) > 1 else {})},
               "decoding": {"num_beams": options.num_beams, "length_penalty": options.length_penalty,
                            "max_new_tokens": options.max_new_tokens, "min_new_tokens": options.min_new_tokens,
                            "no_repeat_ngram_size": options.no_repeat_ngram_size},
               "settings": {"run_dir": os.path.abspath(run_dir), "test_file": os.path.abspath(test_file),
                            "model_file": "best.keras", "max_source_length": max_source},
               "examples": [{"source": s, "reference": r[0] if len(r) == 1 else r, "translation": h}
                            for s, r, h in list(zip(sources, references, hypotheses))[:_EXAMPLES]]}
    with atomic_output(os.path.join(output_dir, "translations.tsv")) as handle:
        handle.write("source\treference\ttranslation\n")
        for source, several, hypothesis in zip(sources, references, hypotheses):
            row = (source, " ||| ".join(several), hypothesis)  # several references: ' ||| ' between them
            handle.write("\t".join(text.replace("\t", " ") for text in row) + "\n")
    step = int(info.get("training", {}).get("steps", 0))
    write_evaluation(run_dir, output_dir, metrics, _report(metrics), step=step, log=log)
    return metrics


def _report(metrics):
    counts, decoding = metrics["counts"], metrics["decoding"]
    how = "greedy" if decoding["num_beams"] == 1 else f"beam search, {decoding['num_beams']} beams"
    lines = [f"{metrics['settings']['test_file']}: {counts['pairs']:,} pairs, {how}",
             f"BLEU  {metrics['bleu']:.2f}   {metrics['signatures']['bleu']}",
             f"chrF  {metrics['chrf']:.2f}   {metrics['signatures']['chrf']}"]
    if "rouge" in metrics:
        rouge = metrics["rouge"]
        lines.append(f"ROUGE-1/2/L F1  {rouge['rouge1']:.2f} / {rouge['rouge2']:.2f} / {rouge['rougeL']:.2f}   "
                     f"(rouge-score, best of {counts.get('references', counts['pairs']):,} references for "
                     f"{counts['pairs']:,} sources, "
                     f"tokens: {'characters' if metrics['rouge_tokenize'] == 'chars' else 'words, stemmed'})")
    if counts["sources_truncated"]:
        lines.append(f"note: {counts['sources_truncated']:,} sources are longer than the model's "
                     f"{metrics['settings']['max_source_length']} tokens; their tails were not read")
    for example in metrics["examples"][:3]:
        reference = example["reference"] if isinstance(example["reference"], str) else example["reference"][0]
        lines.append(f"  {example['source'][:200]}  →  {example['translation']}   (reference: {reference})")
    return "\n".join(lines)


def predict_translator_file(run_dir, input_file, output_file, options, batch_size=None, text_column=None, log=print):
    """Translate every source of ``input_file``; write ``output_file`` in the same format (atomically).

    Args:
        input_file: text (one source per line; output: one translation per line), a ``.tsv`` pairs
            file (no header; the run's source column; the translation is appended as a last column),
            or ``.jsonl``/``.csv`` with a ``text_column`` (default ``"source"``; adds ``translation``).
        options: :class:`~keras_llm.generation.DecodingOptions` (``runs.translator.decoding_options``:
            the recipe's beams unless overridden, as `translate` and the export).

    Returns:
        The number of sources translated.
    """
    info = read_run_info(run_dir, expected_model=MODEL_KIND)
    records = RecordFile(input_file, field=text_column or info.get("source_field", "source"),
                         column_index=info.get("source_column", 0), join_lists=True,
                         tsv_header=False)
    total = records.count()
    check_output_file(output_file, input_file)
    model, source_tokenizer, target_tokenizer, info = load_translator_run(run_dir)
    progress = Progress(total, "translating", unit="sources")
    with atomic_output(output_file, newline="") as handle:
        writer = records.writer(handle, "translation")
        for batch in batches(records.records(), _batch_size(batch_size, info)):
            translations = translate(model, source_tokenizer, target_tokenizer, [text for _, text in batch], options)
            for (record, _), translation in zip(batch, translations):
                writer.write(record, translation)
            progress.advance(len(batch))
    progress.close()
    how = "greedy" if options.num_beams == 1 else f"{options.num_beams} beams"
    log(f"{total:,} translations ({how}) written to {output_file}")
    return total
