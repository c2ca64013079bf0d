"""The SavedModel op-set check: our exports pass, Python callbacks and foreign ops are flagged."""

import importlib.util
from pathlib import Path

import pytest
import tensorflow as tf

from keras_llm.export import export_text_classifier, export_text_generator
from keras_llm.export.op_check import (
    CORE,
    PYTHON_ONLY,
    TF_TEXT,
    UNKNOWN,
    OpReport,
    check_saved_model_ops,
    classify_ops,
    format_report,
    read_saved_model_proto,
)
from keras_llm.models.bert import BertConfig
from keras_llm.models.bert_classifier import build_bert_classifier
from keras_llm.models.gpt import GPTConfig, build_gpt
from keras_llm.tokenizers import CharTokenizer, WordPieceTokenizer

TOOL = Path(__file__).resolve().parents[2] / "tools" / "check_saved_model_ops.py"


def _tool():
    spec = importlib.util.spec_from_file_location("check_saved_model_ops", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_classification_against_given_registries():
    categories = classify_ops(["MatMul", "EagerPyFunc", "RegexSplitWithOffsets", "TFText>RoundRobinTrim", "Nope"],
                              core={"MatMul", "EagerPyFunc"},
                              tf_text={"RegexSplitWithOffsets", "TFText>RoundRobinTrim"})
    assert categories == {"MatMul": CORE, "EagerPyFunc": PYTHON_ONLY, "RegexSplitWithOffsets": TF_TEXT,
                          "TFText>RoundRobinTrim": TF_TEXT, "Nope": UNKNOWN}
    counts = dict.fromkeys(categories, 1)
    assert OpReport(counts, {"MatMul": CORE}).min_tf_serving is None
    assert OpReport(counts, {"MatMul": CORE, "RegexSplitWithOffsets": TF_TEXT}).min_tf_serving == "2.2"
    # The example: TF Serving before 2.20 lacked RoundRobinTrim.
    both = OpReport(counts, {"RegexSplitWithOffsets": TF_TEXT, "TFText>RoundRobinTrim": TF_TEXT})
    assert both.ok and both.min_tf_serving == "2.20"
    # A tf-text op whose history we did not check gets the newest floor we know, not the oldest.
    assert OpReport(counts, {"SentencepieceOp": TF_TEXT}).min_tf_serving == "2.20"
    bad = OpReport(counts, categories)
    assert not bad.ok and bad.problems == ["EagerPyFunc", "Nope"] and bad.min_tf_serving is None


@pytest.mark.slow  # default-suite budget (2026-11-30): the other exports are op-checked by default
def test_gpt_export_uses_only_core_ops(tmp_path):
    tokenizer = CharTokenizer.train("abc de\n")
    model = build_gpt(GPTConfig(vocab_size=tokenizer.vocab_size, max_length=8, num_layers=1, num_heads=1,
                                hidden_dim=8))
    path = export_text_generator(model, tokenizer, base_dir=str(tmp_path), name="gpt", max_new_tokens=4)
    report = check_saved_model_ops(path)
    assert report.ok and not report.needs_tf_text and report.min_tf_serving is None
    # Ops of the nested decoding loop (While body, cached attention) are in the library functions.
    for op in ("UnicodeDecode", "While", "LookupTableFindV2", "BatchMatMulV2", "Softmax"):
        assert report.categories[op] == CORE
    assert report.tensorflow_version == tf.__version__
    assert _tool().main([path]) == 0


def test_bert_classifier_export_needs_tf_text_ops(tmp_path, capsys):
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "##s"]
    model = build_bert_classifier(BertConfig(vocab_size=len(vocabulary), hidden_dim=8, num_layers=1, num_heads=1,
                                             max_length=16), num_classes=2)
    path = export_text_classifier(model, WordPieceTokenizer(vocabulary), ["neg", "pos"], max_length=16,
                                  base_dir=str(tmp_path), name="bert")
    report = check_saved_model_ops(path)
    text_ops = {op for op, category in report.categories.items() if category == TF_TEXT}
    assert {"RegexSplitWithOffsets", "WordpieceTokenizeWithOffsets"} <= text_ops
    assert report.ok and report.min_tf_serving == "2.2"
    assert _tool().main([path]) == 0
    out = capsys.readouterr().out
    assert "| WordpieceTokenizeWithOffsets | tf-text |" in out and "TF Serving >= 2.2" in out


class _PythonCallback(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def serve(self, x):
        return {"y": tf.py_function(lambda t: t * 2.0, [x], tf.float32)}


def test_py_function_and_foreign_ops_are_flagged(tmp_path, capsys):
    module = _PythonCallback()
    bad_dir = str(tmp_path / "bad")
    tf.saved_model.save(module, bad_dir, signatures={"serving_default": module.serve.get_concrete_function()})
    report = check_saved_model_ops(bad_dir)
    assert report.categories["EagerPyFunc"] == PYTHON_ONLY
    assert report.problems == ["EagerPyFunc"] and report.min_tf_serving is None
    assert "FAIL" in format_report(report)
    assert _tool().main([bad_dir]) == 1
    assert "EagerPyFunc" in capsys.readouterr().out

    # An op from some other custom-op library, hidden inside a function body.
    saved_model = read_saved_model_proto(bad_dir)
    function = saved_model.meta_graphs[0].graph_def.library.function[0]
    function.node_def.add(name="foreign", op="SomeVendor>MadeUpOp")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    assert check_saved_model_ops(str(tmp_path / "foreign")).categories["SomeVendor>MadeUpOp"] == UNKNOWN

    assert _tool().main([str(tmp_path / "nothing-here")]) == 2


def test_tool_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        _tool().main(["--help"])
    assert exit_info.value.code == 0 and "SavedModel" in capsys.readouterr().out
