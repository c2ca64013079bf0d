"""Retrieve, then read: answer questions from a search index with an extractive QA reader.

For each question the index's own encoder finds the ``top_k`` passages
(:class:`~keras_llm.search.searcher.SearchIndex`), the reader picks the best span of each
(:func:`~keras_llm.runs.span_qa.answer_questions`, one batch for every question × passage), and the
span the reader is surest of wins. The reader's score (``p_start × p_end``, each a softmax over one
passage's tokens) is comparable across passages; the retrieval score only breaks ties and is reported
beside the answer, so a passage ranked lower by the index can still give the answer.

Example:
    >>> reader = load_qa_run("runs/minilm-squad")
    >>> [found] = ask_index("squad-index", reader, ["Which team won Super Bowl 50?"], top_k=5)
    >>> found.answer, found.source_id
    ('Denver Broncos', '56be4db0acb8001400a502ec')
"""

import collections

from keras_llm.runs.span_qa import answer_questions
from keras_llm.search.searcher import SearchIndex

DEFAULT_PASSAGES = 5

# One question's answer: the span, the reader's score in [0, 1], the passage it came from (its id, its
# rank and retrieval score) and the span's character offsets into that passage's text.
FoundAnswer = collections.namedtuple(
    "FoundAnswer", "question answer score source_id source_rank retrieval_score start end passage")


def ask_index(index_dir, reader, questions, top_k=DEFAULT_PASSAGES, searcher=None, batch_size=32):
    """The best answer to each of ``questions`` (a list of str) from ``index_dir``'s passages.

    Args:
        index_dir: a search index (``keras-llm index``).
        reader: a QA run directory, or the ``(model, tokenizer, run_info)`` of ``load_qa_run``.
        top_k: passages read per question.
        searcher: an open :class:`SearchIndex` of ``index_dir`` (to ask many times without reloading).
        batch_size: question–passage pairs per reader call.

    Returns:
        a list of :class:`FoundAnswer`, one per question, in order.
    """
    searcher = searcher or SearchIndex(index_dir)
    hits_per_question = searcher.search(list(questions), top_k=top_k)
    pairs = [(index, rank, hit) for index, hits in enumerate(hits_per_question) for rank, hit in enumerate(hits, 1)]
    spans = answer_questions(reader, [questions[index] for index, _, _ in pairs], [hit.text for _, _, hit in pairs],
                             batch_size=batch_size)
    best = {}
    for (index, rank, hit), (answer, score, start, end) in zip(pairs, spans):
        found = FoundAnswer(questions[index], answer, score, hit.id, rank, hit.score, start, end, hit.text)
        kept = best.get(index)
        if kept is None or (found.score, found.retrieval_score) > (kept.score, kept.retrieval_score):
            best[index] = found
    return [best[index] for index in range(len(questions))]
