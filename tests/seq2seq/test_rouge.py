"""ROUGE against several references is the best over them; Chinese is scored on characters."""

import pytest

from keras_llm.training.rouge import rouge_scorer, rouge_scores
from keras_llm.training.translation_metrics import corpus_bleu


def test_several_references_score_the_best_of_each_type():
    hypotheses = ["the cat sat on the mat", "a quick brown fox"]
    references = [["a dog ran", "the cat sat on a mat"], ["the quick brown fox jumps"]]
    scorer = rouge_scorer()
    for kind in ("rouge1", "rouge2", "rougeL"):
        best = [max(scorer.score(r, h)[kind].fmeasure for r in refs) for h, refs in zip(hypotheses, references)]
        assert rouge_scores(hypotheses, references)[kind] == pytest.approx(100 * sum(best) / 2)
    first_only = rouge_scores(hypotheses, [several[:1] for several in references])
    assert rouge_scores(hypotheses, references)["rouge1"] > first_only["rouge1"]


def test_chinese_needs_the_character_tokenizer():
    hypothesis, reference = ["基于深度学习的图像分类"], ["基于深度学习的图像识别方法"]
    assert rouge_scores(hypothesis, reference)["rouge1"] == 0.0  # rouge-score's tokenizer drops CJK text
    chars = rouge_scores(hypothesis, reference, tokenize="chars")
    # 9 shared characters: P = 9/11, R = 9/13.
    assert chars["rouge1"] == pytest.approx(100 * 2 * (9 / 11) * (9 / 13) / (9 / 11 + 9 / 13))


def test_multi_reference_bleu_uses_every_reference():
    one = corpus_bleu(["the cat sat on the mat"], [["a cat sat on a mat"]])
    two = corpus_bleu(["the cat sat on the mat"], [["a cat sat on a mat", "the cat sat on the mat"]])
    assert two == pytest.approx(100.0) and one < 50
