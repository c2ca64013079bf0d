"""BLEU/chrF of `keras-llm evaluate`: sacrebleu's numbers and signatures, and the same BLEU as training logs."""

import pytest

from keras_llm.errors import UserInputError
from keras_llm.evaluation.translation import translation_scores
from keras_llm.training.translation_metrics import corpus_bleu, corpus_chrf

HYPOTHESES = ["te quiero .", "el gato se sentó en la alfombra .", "hace frío hoy", "no sé"]
REFERENCES = ["Te quiero.", "El gato se sentó en una alfombra.", "Hoy hace frío.", "No lo sé."]


def test_case_sensitive_scores_equal_the_ones_training_logs():
    scores = translation_scores(HYPOTHESES, REFERENCES)
    assert scores["bleu"] == pytest.approx(corpus_bleu(HYPOTHESES, REFERENCES))
    assert scores["chrf"] == pytest.approx(corpus_chrf(HYPOTHESES, REFERENCES))
    assert scores["signatures"]["bleu"] == "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
    assert scores["signatures"]["chrf"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0")
    assert scores["bleu_details"]["hypothesis_length"] > 0 and len(scores["bleu_details"]["precisions"]) == 4


def test_lowercase_scoring_ignores_the_case_a_lowercasing_tokenizer_cannot_write():
    lowered = translation_scores(HYPOTHESES, REFERENCES, lowercase=True)
    mixed = translation_scores(HYPOTHESES, REFERENCES)
    assert lowered["bleu"] > mixed["bleu"] and lowered["chrf"] > mixed["chrf"]
    assert "case:lc" in lowered["signatures"]["bleu"] and "case:lc" in lowered["signatures"]["chrf"]
    same = translation_scores(["el gato se sentó en la alfombra ."], ["El gato se sentó en la alfombra."],
                              lowercase=True)
    assert same["bleu"] == pytest.approx(100.0) and same["chrf"] == pytest.approx(100.0)
    assert "tok:zh" in translation_scores(["我爱你"], ["我爱你"], tokenize="zh")["signatures"]["bleu"]


def test_mismatched_or_empty_inputs_are_refused():
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        translation_scores(["a", "b"], ["a"])
    with pytest.raises(UserInputError, match="no sentence pairs"):
        translation_scores([], [])


def test_detokenizer_spacing_brings_no_tokenized_data_warning(capfd, caplog):
    hypotheses = ["el gato se sentó en la alfombra ."] * 120  # sacrebleu warns from 100 such lines without force
    scores = translation_scores(hypotheses, ["El gato se sentó en la alfombra."] * 120, lowercase=True)
    assert scores["bleu"] == pytest.approx(100.0)  # 13a splits the period off both sides alike
    captured = capfd.readouterr()
    assert "tokenized" not in captured.err + captured.out + caplog.text
