"""Streaming CoNLL / CoNLL-U sentences for `keras-llm predict`, written back with a tag column."""

import io

import pytest

from keras_llm.data.conll_stream import ConllReader, write_tagged_sentence
from keras_llm.errors import UserInputError

CONLLU = ("# sent_id = 1\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n1\tdo\tdo\tAUX\t_\t_\t_\t_\t_\t_\n"
          "2\tn't\tnot\tPART\t_\t_\t_\t_\t_\t_\n2.1\tx\t_\t_\t_\t_\t_\t_\t_\t_\n\n")


def _tag_all(path, fmt):
    out = io.StringIO()
    for sentence in ConllReader(str(path), fmt).sentences():
        write_tagged_sentence(out, sentence, [f"T{i}" for i in range(len(sentence.words))], fmt)
    return out.getvalue()


def test_conll_words_with_or_without_tags_get_a_column(tmp_path):
    path = tmp_path / "in.conll"
    path.write_text("-DOCSTART- -X- O\n\nJohn\tB-PER\nruns\n\n\n\nEU NNP B-ORG\n", encoding="utf-8")
    assert [s.words for s in ConllReader(str(path), "conll").sentences()] == [[], ["John", "runs"], ["EU"]]
    assert _tag_all(path, "conll") == ("-DOCSTART- -X- O\n\nJohn\tB-PER\tT0\nruns\tT1\n\nEU NNP B-ORG T0\n\n")


def test_conllu_keeps_comments_ranges_and_empty_nodes(tmp_path):
    path = tmp_path / "in.conllu"
    path.write_text(CONLLU, encoding="utf-8")
    (sentence,) = ConllReader(str(path), "conllu").sentences()
    assert sentence.words == ["do", "n't"]
    lines = _tag_all(path, "conllu").splitlines()
    assert lines[0] == "# sent_id = 1"
    assert lines[1].endswith("\t_") and lines[2].endswith("\tAUX\t_\t_\t_\t_\t_\t_\tT0")
    assert lines[3].endswith("\tT1") and lines[4].endswith("\t_") and lines[5] == ""
    assert all(len(line.split("\t")) == 11 for line in lines[1:5])


@pytest.mark.parametrize("content, fmt, message", [
    (b"", "conll", "is empty"),
    (b"a\tO\n\nb\xff\tO\n", "conll", r"not valid UTF-8 \(line 3\)"),
    (b"1\ta\tb\n", "conllu", "in.x:1: expected 10"),
    (b"w\tO\n" * 1001, "conll", "sentence of over 1000 words"),
])
def test_bad_files(tmp_path, content, fmt, message):
    path = tmp_path / "in.x"
    path.write_bytes(content)
    with pytest.raises(UserInputError, match=message):
        list(ConllReader(str(path), fmt).sentences())
