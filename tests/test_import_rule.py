"""The one-way import rule (docs/architecture.md): each floor imports only the floors beneath it.

The imports are read from the source with ``ast``, so a lazy import inside a function counts as
much as one at the top of a module.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_llm"

BASE = {"errors", "checks", "_quiet", "files"}
BELOW_MODELS = BASE | {"tokenizers", "distribute", "data", "layers"}
# package (top-level module of keras_llm) -> the top-level modules it may import
ALLOWED = {
    "errors": set(),
    "checks": {"errors"},
    "files": {"errors"},
    "_quiet": set(),
    "tokenizers": BASE,
    "distribute": BASE,
    "data": BASE | {"tokenizers"},
    "layers": BASE,
    "models": BASE | {"layers"},
    "generation": BELOW_MODELS | {"models"},
    "training": BELOW_MODELS | {"models"},
    "checkpoints": BELOW_MODELS | {"models"},
    "export": BELOW_MODELS | {"models", "generation"},
    "embeddings": BELOW_MODELS | {"models", "checkpoints"},
    "evaluation": BELOW_MODELS | {"models", "generation"},
}
FLOORS_BELOW_RUNS = set(ALLOWED)
ALLOWED["runs"] = FLOORS_BELOW_RUNS | {"export"}
ALLOWED["search"] = ALLOWED["runs"] | {"runs"}  # an index's model may be a trained run
ALLOWED["experiments"] = ALLOWED["search"] | {"search"}
ALLOWED["cli"] = ALLOWED["experiments"] | {"experiments"}
ALLOWED["zoo"] = ALLOWED["cli"] | {"cli"}  # the deprecated alias of runs/experiments/cli
ALLOWED["__init__"] = {"_quiet", "layers", "models"}  # importing the package registers the layers


def _imported_floors(path):
    """Top-level ``keras_llm`` modules that ``path`` imports (``from keras_llm import x`` counts as x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] != "keras_llm":
                continue
            found |= {alias.name for alias in node.names} if len(parts) == 1 else {parts[1]}
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names
                      if alias.name.startswith("keras_llm.")}
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            raise AssertionError(f"{path}: relative import; write the absolute keras_llm path")
    return found


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_lower_floors(path):
    floor = path.relative_to(PACKAGE).with_suffix("").parts[0]
    assert floor in ALLOWED, f"{floor} is not a known floor: add it to ALLOWED and docs/architecture.md"
    upward = sorted(_imported_floors(path) - ALLOWED[floor] - {floor, "__version__"})
    assert not upward, f"{path.relative_to(PACKAGE)} ({floor}) imports {upward}, which sit above it"


def test_layers_use_keras_ops_only():
    for path in (PACKAGE / "layers").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not any(name.split(".")[0] == "tensorflow" for name in modules), f"{path.name} imports tensorflow"


def test_the_rule_catches_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from keras_llm.runs.gpt import train_gpt_run\n", encoding="utf-8")
    assert "runs" in _imported_floors(bad) - ALLOWED["models"]
