"""The Hugging Face GPT-2 directory of the tests, rebuilt from tests/fixtures/gpt2 (see gpt2_weights.py).

Example:
    >>> directory = make_gpt2_directory(tmp_path / "gpt2")   # config, vocab, merges, model.safetensors
"""

import hashlib
import json
import shutil
from pathlib import Path

from tests.checkpoints.gpt2_weights import fixture_tensors, write_fixture_safetensors

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gpt2"
HF_FILES = ("config.json", "vocab.json", "merges.txt")


def weights_record():
    return json.loads((FIXTURE / "weights.json").read_text(encoding="utf-8"))


def reference():
    """``(texts as bytes, transformers' ids per text)``."""
    record = json.loads((FIXTURE / "reference.json").read_text(encoding="utf-8"))
    return [bytes.fromhex(text) for text in record["texts_utf8_hex"]], record["ids"]


def make_gpt2_directory(directory, layout="save_pretrained"):
    """Write the fixture's GPT-2 directory; returns it.

    ``layout="save_pretrained"``: byte for byte what transformers' ``GPT2LMHeadModel.save_pretrained``
    wrote (checked by sha256). ``layout="gpt2"``: the real ``gpt2`` directory's layout, names without
    ``transformer.`` plus the causal-mask buffers ``h.<i>.attn.bias`` that are not weights.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in HF_FILES:
        shutil.copyfile(FIXTURE / name, directory / name)
    record = weights_record()
    path = directory / "model.safetensors"
    if layout == "save_pretrained":
        write_fixture_safetensors(path, record["tensors"], record["seed"])
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == record["model_safetensors_sha256"], "the fixture's weights no longer match transformers'"
        return directory
    import numpy as np
    from safetensors.numpy import save_file

    tensors = {name.removeprefix("transformer."): value
               for name, value in fixture_tensors(record["tensors"], record["seed"]).items()}
    config = json.loads((FIXTURE / "config.json").read_text(encoding="utf-8"))
    positions = config["n_positions"]
    for index in range(config["n_layer"]):
        tensors[f"h.{index}.attn.bias"] = np.tril(np.ones((1, 1, positions, positions), np.float32))
    save_file(tensors, str(path), metadata={"format": "pt"})
    return directory
