"""Sentence pairs: the TSV reader's errors, per-side vocabularies, length filter, teacher forcing."""

import numpy as np
import pytest

from keras_llm.data.pairs import filter_by_length, pairs_dataset, read_pairs, start_end_ids, train_pair_tokenizers
from keras_llm.errors import UserInputError

PAIRS = [("Go.", "Ve."), ("I am cold.", "Tengo frío."), ("She is happy.", "Ella está feliz."),
         ("We like tea.", "Nos gusta el té."), ("Where is the cat?", "¿Dónde está el gato?")]


def write(tmp_path, text, name="pairs.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def tokenizers():
    sources, targets = zip(*PAIRS)
    return train_pair_tokenizers(list(sources) * 3, list(targets) * 3, 60, 60)


def test_reads_columns_and_skips_blank_lines(tmp_path):
    path = write(tmp_path, "\ufeffGo.\tVe.\tCC-BY 2.0\n\nHi.\tHola.\t#538123\r\n")
    assert read_pairs(path) == (["Go.", "Hi."], ["Ve.", "Hola."])
    assert read_pairs(path, source_column=1, target_column=0) == (["Ve.", "Hola."], ["Go.", "Hi."])


@pytest.mark.parametrize("text, kwargs, message", [
    ("", {}, "no sentence pairs"),
    ("Go.\tVe.\n", {}, "1 sentence pair"),
    ("Go.\tVe.\nHello there\n", {}, "line 2: no tab"),
    ("Go.\tVe.\n\t Hola.\n", {}, "line 2: empty source"),
    ("Go.\tVe.\nHi.\t \n", {}, "line 2: empty target"),
    ("Go.\tVe.\nHi.\tHola.\n", {"target_column": 2}, "line 1: 2 columns"),
    ("Go.\tVe.\n", {"source_column": 1, "target_column": 1}, "must differ"),
    ("Go.\tVe.\n", {"source_column": -1}, "source_column"),
])
def test_bad_files(tmp_path, text, kwargs, message):
    with pytest.raises(UserInputError, match=message):
        read_pairs(write(tmp_path, text), **kwargs)


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        read_pairs(tmp_path / "none.tsv")
    path = tmp_path / "latin1.tsv"
    path.write_bytes("Go.\tVe.\nCafé\tCafé\n".encode("latin-1"))
    with pytest.raises(UserInputError, match="line 2"):
        read_pairs(path)


def test_tokenizers_keep_accents_and_reserve_start_end(tokenizers):
    source, target = tokenizers
    assert start_end_ids(target) == (2, 3)
    assert target.vocabulary[0] == "[PAD]"
    assert target.decode(target.encode("¿Dónde está el gato?")) == "¿ dónde está el gato ?"
    assert source.decode(source.encode("Where is the cat?")) == "where is the cat ?"


def test_length_filter_counts_what_it_drops(tokenizers):
    source, target = tokenizers
    sources, targets = zip(*PAIRS)
    source_lengths = [len(source.encode(text)) for text in sources]
    target_lengths = [len(target.encode(text)) for text in targets]
    limit = sorted(source_lengths)[2]
    expected = [i for i in range(5) if source_lengths[i] <= limit and target_lengths[i] + 1 <= 8]
    kept_sources, kept_targets, dropped = filter_by_length(list(sources), list(targets), source, target, limit, 8)
    assert kept_sources == [sources[i] for i in expected] and kept_targets == [targets[i] for i in expected]
    assert dropped == 5 - len(expected) > 0
    # The decoder reads [CLS] + target, so a target needs max_target_length - 1 tokens at most.
    longest = max(target_lengths)
    assert filter_by_length(list(sources), list(targets), source, target, 99, longest + 1)[2] == 0
    assert filter_by_length(list(sources), list(targets), source, target, 99, longest)[2] >= 1


@pytest.mark.parametrize("pad_to_max_length", [False, True])
def test_teacher_forcing_batches(tokenizers, pad_to_max_length):
    source, target = tokenizers
    sources, targets = zip(*PAIRS[:2])
    data = pairs_dataset(sources, targets, source, target, batch_size=2, max_source_length=20,
                         max_target_length=21, shuffle=False, pad_to_max_length=pad_to_max_length)
    inputs, labels = next(iter(data))
    encoder, decoder, labels = (inputs["encoder_token_ids"].numpy(), inputs["decoder_token_ids"].numpy(),
                                labels.numpy())
    go, cold = target.encode("Ve."), target.encode("Tengo frío.")
    width = 21 if pad_to_max_length else len(cold) + 1
    assert decoder.shape == labels.shape == (2, width) and decoder.dtype == labels.dtype == np.int32
    assert decoder[1].tolist() == [2] + cold + [0] * (width - len(cold) - 1)
    assert labels[1].tolist() == cold + [3] + [0] * (width - len(cold) - 1)
    assert labels[0].tolist() == go + [3] + [0] * (width - len(go) - 1)
    assert encoder[0].tolist()[:len(source.encode("Go."))] == source.encode("Go.")
    assert encoder.shape[1] == (20 if pad_to_max_length else len(source.encode("I am cold.")))
    # Decoder input shifted by one equals the labels wherever both are real tokens.
    np.testing.assert_array_equal(decoder[:, 1:][labels[:, :-1] > 3], labels[:, :-1][labels[:, :-1] > 3])
