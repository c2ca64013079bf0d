"""Long texts as windows of word pieces: piece counts, overlaps, the cap, framing, pooling."""

import numpy as np
import pytest
import tensorflow as tf

from keras_llm.data.windows import (
    LongTexts,
    encode_windows,
    map_in_chunks,
    normalized_mean,
    pool_windows,
    split_into_windows,
)
from keras_llm.errors import UserInputError
from keras_llm.tokenizers import WordPieceTokenizer

WORDS = [f"w{i}" for i in range(200)]


@pytest.fixture(scope="module")
def tokenizer():
    # One word, one piece: a text of n words has n pieces, piece id = 5 + word number.
    return WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])


def _text(n):
    return " ".join(WORDS[:n])


def _windows_of(tokenizer, n, max_length, settings):
    inputs, text_index, too_long = encode_windows(tokenizer, [_text(n)], max_length, settings)
    rows = []
    for ids, mask in zip(inputs["token_ids"].numpy(), inputs["padding_mask"].numpy()):
        real = ids[mask == 1]
        assert real[0] == tokenizer.cls_token_id and real[-1] == tokenizer.sep_token_id
        assert np.all(ids[mask == 0] == tokenizer.pad_token_id)
        rows.append(list(real[1:-1] - 5))  # back to word numbers
    assert list(text_index.numpy()) == [0] * len(rows)
    return rows, bool(too_long.numpy()[0])


def test_a_text_that_fits_is_one_window_exactly_as_encode_batch(tokenizer):
    texts = ["", _text(3), _text(8)]  # 8 pieces + [CLS]/[SEP] = max_length 10: fits exactly
    inputs, text_index, too_long = encode_windows(tokenizer, texts, 10, LongTexts())
    expected = tokenizer.encode_batch(texts, max_length=10)
    for key in expected:
        np.testing.assert_array_equal(inputs[key].numpy(), expected[key].numpy())
    assert list(text_index.numpy()) == [0, 1, 2] and not any(too_long.numpy())


def test_windows_overlap_by_the_stride_and_cover_every_piece(tokenizer):
    # 20 pieces, windows of 8 pieces every 4: starts 0, 4, 8, 12 (the last one reaches the end).
    rows, too_long = _windows_of(tokenizer, 20, 10, LongTexts(stride=4))
    assert too_long
    assert rows == [list(range(s, min(s + 8, 20))) for s in (0, 4, 8, 12)]
    # Default stride: half of the 8 pieces; a last window that is shorter than the others.
    rows, _ = _windows_of(tokenizer, 21, 10, LongTexts())
    assert [row[0] for row in rows] == [0, 4, 8, 12, 16] and rows[-1] == list(range(16, 21))
    assert sorted({piece for row in rows for piece in row}) == list(range(21))


def test_past_the_cap_windows_spread_evenly_from_the_first_to_the_last_piece(tokenizer):
    # 100 pieces at stride 4 would take 24 windows; 5 are kept, starting at 0, 23, 46, 69 and 92.
    rows, _ = _windows_of(tokenizer, 100, 10, LongTexts(stride=4, max_windows=5))
    assert [row[0] for row in rows] == [0, 23, 46, 69, 92]
    assert all(len(row) == 8 for row in rows) and rows[-1][-1] == 99


def test_truncate_is_the_first_window_and_encode_batchs_truncation(tokenizer):
    inputs, text_index, too_long = encode_windows(tokenizer, [_text(50), _text(2)], 10, LongTexts(mode="truncate"))
    expected = tokenizer.encode_batch([_text(50), _text(2)], max_length=10)
    np.testing.assert_array_equal(inputs["token_ids"].numpy(), expected["token_ids"].numpy())
    assert list(text_index.numpy()) == [0, 1] and list(too_long.numpy()) == [True, False]


def test_window_counts_for_a_batch_of_mixed_lengths(tokenizer):
    pieces = tf.ragged.constant([list(range(n)) for n in (0, 8, 9, 16, 17, 1000)], dtype=tf.int32)
    windows, text_index = split_into_windows(pieces, budget=8, stride=4, max_windows=16)
    counts = np.bincount(text_index.numpy(), minlength=6)
    assert list(counts) == [1, 1, 2, 3, 4, 16]
    assert max(windows.row_lengths().numpy()) == 8


def test_pooling_is_the_per_text_mean_or_max_and_single_windows_are_unchanged():
    values = tf.constant([[1.0, 5.0], [3.0, -1.0], [0.1, 0.2], [2.0, 2.0]])
    text_index = tf.constant([0, 0, 1, 2])
    np.testing.assert_allclose(pool_windows(values, text_index, 3, "mean").numpy(), [[2, 2], [0.1, 0.2], [2, 2]])
    np.testing.assert_allclose(pool_windows(values, text_index, 3, "max").numpy(), [[3, 5], [0.1, 0.2], [2, 2]])
    unit = values / tf.norm(values, axis=-1, keepdims=True)
    pooled = normalized_mean(unit, text_index, 3).numpy()
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=-1), 1, rtol=1e-6)
    np.testing.assert_array_equal(pooled[1:], unit.numpy()[2:])  # one window: bit for bit


def test_map_in_chunks_equals_one_call_for_any_number_of_rows():
    fn = lambda chunk: tf.cast(chunk["token_ids"], tf.float32) * 2.0  # noqa: E731
    for rows in (0, 1, 5, 8, 9):
        inputs = {"token_ids": tf.reshape(tf.range(rows * 3), [rows, 3])}
        for fixed_rows in (False, True):
            np.testing.assert_array_equal(map_in_chunks(fn, inputs, 4, fixed_rows).numpy(), fn(inputs).numpy())


def test_a_small_request_runs_the_model_on_its_own_rows_only():
    """A one-text request is one row through the model (the served latency), not a padded chunk; a
    request of more rows than a chunk is cut into full chunks; ``fixed_rows`` pads every chunk."""
    def rows_in_chunk(chunk):  # each output row says how many rows its chunk had
        rows = tf.shape(chunk["token_ids"])[0]
        return tf.cast(tf.fill([rows, 1], rows), tf.float32)

    for rows in (1, 3, 9):
        inputs = {"token_ids": tf.ones([rows, 2], tf.int32)}
        for fixed_rows in (False, True):
            seen = set(map_in_chunks(rows_in_chunk, inputs, 4, fixed_rows).numpy().ravel().tolist())
            assert seen == {4 if fixed_rows else min(rows, 4)}, (rows, fixed_rows, seen)


def test_bad_settings_are_one_line_errors():
    with pytest.raises(UserInputError, match="long_texts"):
        LongTexts(mode="chunks")
    with pytest.raises(UserInputError, match="pooling"):
        LongTexts(pooling="median")
    with pytest.raises(UserInputError, match="max_windows"):
        LongTexts(max_windows=0)
    with pytest.raises(UserInputError, match="window_stride 9 is longer"):
        LongTexts(stride=9).window_shape(10)
