"""Shared fixtures of the zoo tests."""

import pytest

POSITIVE = ["a great film", "truly wonderful acting", "great and wonderful", "i loved it", "loved the great cast",
            "wonderful story", "great fun", "i loved this wonderful movie"]
NEGATIVE = ["a terrible film", "truly awful acting", "awful and terrible", "i hated it", "hated the awful cast",
            "terrible story", "awful mess", "i hated this terrible movie"]


@pytest.fixture(scope="session")
def sentiment_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "reviews.csv"
    rows = [f'"{text}",pos' for text in POSITIVE * 4] + [f'"{text}",neg' for text in NEGATIVE * 4]
    path.write_text("review,sentiment\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path
