"""The progress indicator: plain lines (one per tenth) in a log, a bar redrawn in place on a terminal."""

import io

from keras_llm.evaluation.progress import Progress


def test_a_log_gets_one_plain_line_per_tenth_and_one_at_the_end():
    stream = io.StringIO()
    progress = Progress(100, "scoring", unit="windows", stream=stream)
    for _ in range(100):
        progress.advance()
    progress.close()
    progress.close()  # closing twice prints nothing more
    lines = stream.getvalue().split("\n")[:-1]
    assert [line.split(",")[0] for line in lines] == [f"scoring: {n}/100 windows ({n}%)" for n in range(10, 101, 10)]
    assert "\r" not in stream.getvalue()


def test_a_terminal_gets_a_bar_redrawn_in_place():
    stream = io.StringIO()
    progress = Progress(4, "translating", unit="pairs", stream=stream, interactive=True)
    progress.advance(4)
    progress.close()
    text = stream.getvalue()
    assert text.startswith("\rtranslating: [") and text.endswith("\n") and text.count("\n") == 1
    assert "4/4 pairs" in text and "#" * 30 in text
