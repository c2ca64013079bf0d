"""The random weights of the GPT-2 test fixture, drawn from a seed with numpy alone.

A width-64 GPT-2 with GPT-2's real 50,257-token vocabulary holds 3.3M float32 numbers (13 MB),
too much to commit, so tools/make_gpt2_fixtures.py draws the weights here, loads them into
transformers' ``GPT2LMHeadModel``, saves it with ``save_pretrained`` and records the names, shapes
and sha256 of the ``model.safetensors`` it wrote. The tests draw the same numbers and write the
file again (``write_fixture_safetensors``); the sha256 check proves it is byte for byte the file
transformers wrote. numpy only: the tool imports this file in its own torch environment.
"""

import numpy as np

_NORM_WEIGHTS = ("ln_1.weight", "ln_2.weight", "ln_f.weight")


def fixture_tensors(tensor_specs, seed):
    """``{name: float32 array}`` for ``[(name, shape), ...]`` in the given order, from ``seed``.

    LayerNorm scales are 1 ± 0.1, everything else (biases too, so a bias loaded in the wrong
    place shows) ~ N(0, 0.1²). Example: ``fixture_tensors([("wte.weight", (10, 4))], 0)``.
    """
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, shape in tensor_specs:
        values = rng.standard_normal(tuple(shape), dtype=np.float32) * np.float32(0.1)
        if name.endswith(_NORM_WEIGHTS):
            values = values + np.float32(1.0)
        tensors[name] = values
    return tensors


def write_fixture_safetensors(path, tensor_specs, seed):
    """Write the fixture's tensors as transformers' ``save_pretrained`` does (metadata format=pt)."""
    from safetensors.numpy import save_file

    save_file(fixture_tensors(tensor_specs, seed), str(path), metadata={"format": "pt"})
