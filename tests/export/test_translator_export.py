"""The translator SavedModel: TF Serving layout, defined edge cases, same text in a fresh process."""

import json
import os
import subprocess
import sys

import keras
import pytest
import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.export.op_check import TF_TEXT, check_saved_model_ops
from keras_llm.export.translator import TranslatorModule, export_translator
from keras_llm.generation import DecodingOptions, translate
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer
from keras_llm.tokenizers import WordPieceTokenizer

MAX_SOURCE = 8
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # [CLS] starts, [SEP] ends a target
TEXTS = ["I like tea.", "tea tea", "You like me?"]
LONG = "tea " * 25000  # 100,000 characters
INVALID = b"\xff\xfe tea".decode("latin-1")  # sent as the raw bytes ff fe 20 74 65 61

FRESH_PROCESS = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (WordPiece: tf-text's regex split and wordpiece ops)
loaded = tf.saved_model.load(sys.argv[1])
def run(texts, signature="serving_default"):
    out = loaded.signatures[signature](texts=tf.constant(texts, tf.string))["translations"]
    return [t.decode("utf-8") for t in out.numpy()]
texts = json.loads(sys.argv[2])
result = {
    "texts": run(texts),
    # The XLA-compiled twin (source widths bucketed): the same beams, long and empty sources included.
    "xla": run(texts + ["", sys.argv[3]], "translate_xla"),
    "portable": run(texts + ["", sys.argv[3]], "translate"),
    "empty_batch": run([]),
    "big_batch": run([texts[0]] * 256),
    "edge": run(["", "  \t ", "\u3000", sys.argv[3]]),
    "invalid": run([sys.argv[4].encode("latin-1")]),
    "imports": sorted({m.split(".")[0] for m in sys.modules if m.startswith(("keras_llm", "keras_hub"))}),
}
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def translator():
    source = WordPieceTokenizer(SPECIALS + ["i", "like", "tea", "you", "me", ".", "?"])
    target = WordPieceTokenizer(SPECIALS + ["me", "gusta", "el", "té", "tú", ".", "?", "¿", "##s"],
                                strip_accents=False)
    keras.utils.set_random_seed(7)
    model = build_seq2seq_transformer(Seq2SeqConfig(
        source.vocab_size, target.vocab_size, num_encoder_layers=1, num_decoder_layers=1, num_heads=2, hidden_dim=16,
        max_source_length=MAX_SOURCE, max_target_length=6, dropout=0.0))
    # Sharper logits than at random initialisation, so that translations differ between inputs.
    model.get_layer("decoder_final_norm").gamma.assign(model.get_layer("decoder_final_norm").gamma * 8.0)
    return model, source, target


def _strings(tensor):
    return [t.decode("utf-8") for t in tensor.numpy()]


# Default-suite budget (2026-11-30): the seq2seq console-script tests compare export and predict (-m slow too); the
# GPT export is checked in a fresh process by default
@pytest.mark.slow
def test_export_round_trip_in_a_fresh_process(translator, tmp_path):
    model, source, target = translator
    for _ in range(2):
        path = export_translator(model, source, target, {}, base_dir=str(tmp_path), name="tiny",
                                 options=DecodingOptions(max_new_tokens=None, num_beams=3))
    assert sorted(os.listdir(tmp_path / "tiny")) == ["1", "2"] and path.endswith("2")

    module = TranslatorModule(model, source, target, 2, 3, DecodingOptions(max_new_tokens=5, num_beams=3))
    expected = _strings(module.translate(tf.constant(TEXTS)))
    # The library's own translate (max_new_tokens None is max_target_length - 1 = 5 there too).
    assert expected == translate(model, source, target, TEXTS, DecodingOptions(max_new_tokens=None, num_beams=3))
    assert len(set(expected)) > 1  # the test would prove little if every input gave the same text

    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    completed = subprocess.run([sys.executable, "-c", FRESH_PROCESS, path, json.dumps(TEXTS), LONG, INVALID],
                               capture_output=True, text=True, env=env, timeout=300, check=True)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["imports"] == []  # served without keras_llm or keras-hub (tensorflow_text itself pulls in keras)
    assert result["texts"] == expected
    assert result["xla"] == result["portable"] and result["portable"][:3] == expected
    assert result["empty_batch"] == []
    assert result["big_batch"] == [expected[0]] * 256
    # No source tokens (empty, spaces, tabs, U+3000): nothing to translate, "" without decoding.
    empty, whitespace, ideographic_space, long = result["edge"]
    assert empty == whitespace == ideographic_space == ""
    # A 100,000-character text is cut to its first MAX_SOURCE tokens.
    assert long == _strings(module.translate(tf.constant(["tea " * MAX_SOURCE])))[0]
    # Invalid UTF-8 is read as U+FFFD (an unknown token), never an error.
    assert result["invalid"] == _strings(module.translate(tf.constant(["\ufffd\ufffd tea"])))

    report = check_saved_model_ops(path)
    assert report.ok, report.problems
    text_ops = {op for op, category in report.categories.items() if category == TF_TEXT}
    assert {"RegexSplitWithOffsets", "WordpieceTokenizeWithOffsets"} <= text_ops
    assert report.min_tf_serving == "2.2"


def test_source_ids_are_truncated_and_never_zero_width(translator):
    model, source, target = translator
    module = TranslatorModule(model, source, target, 2, 3, DecodingOptions(max_new_tokens=4, num_beams=1))
    assert module.source_ids(tf.constant(["", " "])).numpy().tolist() == [[0], [0]]
    assert module.source_ids(tf.constant([LONG])).shape == (1, MAX_SOURCE)
    assert module.source_ids(tf.constant([], tf.string)).shape == (0, 1)
    assert module.translate(tf.constant([], tf.string)).shape == (0,)
    assert _strings(module.translate(tf.constant(["", "tea", " "])))[::2] == ["", ""]
    # Any token counts, even an unknown one.
    assert _strings(module.translate(tf.constant(["zzz"])))[0] != ""


def test_budget_is_clipped_and_run_info_travels_along(translator, tmp_path):
    model, source, target = translator
    path = export_translator(model, source, target, {"recipe": "tiny", "pairs": 3}, base_dir=str(tmp_path),
                             options=DecodingOptions(max_new_tokens=100, num_beams=1))
    assert json.loads((tmp_path / "translator" / "1" / "assets.extra" / "run.json").read_text()) == {
        "recipe": "tiny", "pairs": 3}
    served = tf.saved_model.load(path).signatures["serving_default"]
    out = _strings(served(texts=tf.constant(TEXTS))["translations"])
    # 100 new tokens asked, max_target_length (6) given: greedy equals translate's with 6 tokens.
    assert out == translate(model, source, target, TEXTS, DecodingOptions(max_new_tokens=6))
    with pytest.raises(UserInputError, match=r"\[CLS\]"):
        export_translator(model, source, WordPieceTokenizer(["[UNK]", "a"]), {}, base_dir=str(tmp_path))
