"""Dynamic masking: rates, specials never chosen, labels equal the original tokens."""

import numpy as np
import pytest

from keras_llm.data.masked_lm import masked_lm_dataset
from keras_llm.errors import UserInputError
from keras_llm.tokenizers import WordPieceTokenizer

LINES = [f"line {i} of the quick brown fox that jumps over the lazy dog again and again" for i in range(200)]


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer.train(LINES, vocab_size=300)


def test_masking_statistics_and_labels(tokenizer):
    data = masked_lm_dataset(tokenizer, LINES, max_length=24, batch_size=16, seed=1)
    specials = {tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id}
    chosen = mask = kept = random = real = 0
    for inputs, labels, weights in data.take(40):
        original = tokenizer.encode_batch([LINES[0]], max_length=24)  # shape check only
        assert inputs["token_ids"].shape[1] == original["token_ids"].shape[1] == 24
        ids, positions = inputs["token_ids"].numpy(), inputs["mask_positions"].numpy()
        labels, weights = labels.numpy(), weights.numpy()
        real += int(inputs["padding_mask"].numpy().sum()) - 2 * ids.shape[0]
        for row in range(ids.shape[0]):
            for slot in np.flatnonzero(weights[row]):
                chosen += 1
                assert labels[row, slot] not in specials
                value = ids[row, positions[row, slot]]
                mask += value == tokenizer.mask_token_id
                kept += value == labels[row, slot]
                random += value not in (tokenizer.mask_token_id, labels[row, slot])
    assert 0.12 < chosen / real < 0.18
    assert 0.75 < mask / chosen < 0.85 and 0.06 < kept / chosen < 0.14 and 0.06 < random / chosen < 0.14


def test_masks_change_between_epochs(tokenizer):
    data = masked_lm_dataset(tokenizer, LINES[:16], max_length=24, batch_size=16, shuffle=False)
    first, second = [batch[0]["mask_positions"].numpy() for batch in data.take(2)]
    assert not np.array_equal(first, second)


def test_bad_input(tokenizer):
    with pytest.raises(UserInputError, match="non-empty"):
        masked_lm_dataset(tokenizer, ["", "  "], 16, 4)


def test_masks_are_a_function_of_seed_and_batch_number(tokenizer):
    def batches(seed, skip=0):
        data = masked_lm_dataset(tokenizer, LINES, max_length=24, batch_size=16, seed=seed).skip(skip)
        return [inputs["token_ids"].numpy() for inputs, _, _ in data.take(6 - skip)]

    first, again, skipped = batches(7), batches(7), batches(7, skip=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))  # another run: the same masks
    assert all(np.array_equal(a, b) for a, b in zip(first[4:], skipped))  # a resumed stream continues exactly
    assert not np.array_equal(first[0], batches(8)[0])
