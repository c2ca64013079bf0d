"""Fixtures of the search tests (the data and helpers are in collection.py)."""

import pytest

from tests.search.collection import write_documents_csv, write_one_layer_minilm


@pytest.fixture(scope="session")
def documents_csv(tmp_path_factory):
    return write_documents_csv(tmp_path_factory.mktemp("collection") / "docs.csv")


@pytest.fixture(scope="session")
def one_layer_minilm(tmp_path_factory):
    return write_one_layer_minilm(tmp_path_factory.mktemp("models") / "minilm-1-layer")
