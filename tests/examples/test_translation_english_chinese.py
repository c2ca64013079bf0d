"""The English-to-Chinese example: character-level Chinese targets, decoding, BLEU with sacrebleu's zh."""

import re

import pytest

from tests.examples import load_example

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.slow  # default-suite budget (2026-11-30): the other translator examples run by default
def test_quick_run_trains_decodes_and_scores_chinese(capsys):
    example = load_example("translation_english_chinese")

    result = example.main(["--quick", "--verbose", "0"])

    assert result["steps"] == 12
    for beams in (1, 4):
        scores = result["scores"][beams]
        assert 0.0 <= scores["bleu_zh"] <= 100.0 and 0.0 <= scores["chrf"] <= 100.0
    # Every ideograph of the target vocabulary is a token of its own (no word segmentation needed).
    cjk_tokens = [t for t in result["target_vocabulary"] if CJK.search(t)]
    assert cjk_tokens and all(len(t.removeprefix("##")) == 1 for t in cjk_tokens)
    assert all(CJK.search(reference) for _, _, reference in result["examples"])
    out = capsys.readouterr().out
    assert "sacrebleu zh tokenizer" in out and "→" in out


def test_zh_tokenizer_is_what_makes_chinese_bleu_meaningful():
    from keras_llm.training.translation_metrics import corpus_bleu

    hypothesis, reference = "我不喜欢这本书。", "我不喜欢那本书。"  # one character differs
    assert corpus_bleu([hypothesis], [reference], tokenize="13a") == 0.0  # one "word" each: no match
    assert corpus_bleu([hypothesis], [reference], tokenize="zh") > 30.0


def test_held_out_english_sentences_never_appear_in_training():
    example = load_example("translation_english_chinese")
    sources = ["a", "b", "a", "c", "d", "b", "e"]
    (train, _), (test, _) = example.split_by_english(sources, list("1234567"), 3, seed=1)
    assert not set(train) & set(test) and len(test) <= 3 and len(train) + len(test) == 7
