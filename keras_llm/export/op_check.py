"""Which ops does an exported SavedModel use, and will TF Serving's model server load them?

TF Serving links core TensorFlow and the tensorflow-text op library, nothing else. An op that
only a Python process registers (``EagerPyFunc`` from ``tf.py_function``, ``PyFunc`` from
``tf.numpy_function``) or an op from any other custom-op library fails at load time with
"Op type not registered". This module lists every op type in every graph of a SavedModel
(the top-level graphs and all functions in the graph library, which is where ``tf.function``
bodies and nested ``While``/``If`` branches live) and classifies each one:

* ``core``: registered by TensorFlow alone;
* ``tf-text``: registered only after ``import tensorflow_text``;
* ``python-only``: registered by TensorFlow but with a kernel that calls back into Python;
* ``unknown``: registered by neither.

The first two are loadable; the verdict fails on the others. Which op is "core" is decided in a
child process that imports only ``tensorflow`` (this process may already have imported
tensorflow_text, which adds its ops to the same global registry).

Example:
    >>> report = check_saved_model_ops("saved_models/gpt-shakespeare-char/1")
    >>> report.ok, report.min_tf_serving  # None: no tensorflow-text op, no floor from them
    (True, None)
    >>> print(format_report(report))
"""

import collections
import dataclasses
import functools
import json
import os
import subprocess
import sys

CORE, TF_TEXT, PYTHON_ONLY, UNKNOWN = "core", "tf-text", "python-only", "unknown"
LOADABLE = (CORE, TF_TEXT)

# Kernels that run a Python callable: registered by TensorFlow, useless in a C++ server.
PYTHON_ONLY_OPS = frozenset({"EagerPyFunc", "PyFunc", "PyFuncStateless"})

# The TF Serving release that a tensorflow-text op needs at least. Floors are conservative (the
# higher of what we could establish); none has been tried against a real TF Serving binary.
# Core ops get no floor: we check them against the installed TensorFlow only, and some are
# recent (``DisableCopyOnRead`` in the save functions, ``XlaDynamicUpdateSlice`` from Keras'
# ``slice_update``), so a TF Serving release older than the exporting TensorFlow is unverified.
# - tf-text ops present since tf-text 2.0/2.1: the model server linked tf-text in late 2019
#   (tensorflow/serving PR #1405); users still met "Op type not registered
#   'RegexSplitWithOffsets'" with 2.0/2.1 images, and Google's own T5 notes waited for 2.2.
TF_TEXT_FLOOR = "2.2"
# - tf-text ops added later, and the first TF Serving release known to link them.
TF_TEXT_OP_FLOORS = {
    "FastBertNormalize": "2.12",  # tensorflow/serving#2064: not in 2.11, fixed after it
    "FastWordpieceTokenizeWithOffsets": "2.12",
    "TFText>FastWordpieceDetokenize": "2.12",
    "TFText>RoundRobinTrim": "2.20",  # releases before 2.20 embedded tf-text 2.12 (serving#4057)
    "TFText>RoundRobinGenerateMasks": "2.20",
}
# tf-text ops that BERT-style tokenizers have used since tf-text 2.0/2.1; any other tf-text op
# gets the newest floor we know (conservative: we did not trace each op's history).
OLD_TF_TEXT_OPS = frozenset({
    "CaseFoldUTF8", "NormalizeUTF8", "RegexSplitWithOffsets", "UnicodeScriptTokenizeWithOffsets",
    "WhitespaceTokenizeWithOffsets", "WordpieceTokenizeWithOffsets",
})
NEWEST_FLOOR = "2.20"

_REGISTRY_SCRIPT = r"""
import json
import tensorflow  # noqa: F401  (loads the runtime that owns the op registry)
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session

def registered():
    ops = op_def_pb2.OpList()
    buffer = pywrap_tf_session.TF_GetAllOpList()
    ops.ParseFromString(pywrap_tf_session.TF_GetBuffer(buffer))
    return {op.name for op in ops.op}

core = registered()
try:
    import tensorflow_text  # noqa: F401  (registers its ops)
    text = registered() - core
except ImportError:
    text = set()
print(json.dumps({"core": sorted(core), "tf_text": sorted(text)}))
"""


@dataclasses.dataclass(frozen=True)
class OpReport:
    """Result of :func:`check_saved_model_ops`.

    Attributes:
        op_counts: op type → number of nodes of that type, over all graphs and functions.
        categories: op type → ``"core"``, ``"tf-text"``, ``"python-only"`` or ``"unknown"``.
        tensorflow_version: the TensorFlow that wrote the SavedModel (from its meta graph).
        min_tf_serving: lowest TF Serving release whose linked tensorflow-text has every tf-text op
            used (``None`` if no tf-text op is used, or if some op cannot load at all).
    """

    op_counts: dict
    categories: dict
    tensorflow_version: str = ""

    @property
    def problems(self):
        """Op types that TF Serving would not load, sorted."""
        return sorted(op for op, category in self.categories.items() if category not in LOADABLE)

    @property
    def ok(self):
        return not self.problems

    @property
    def needs_tf_text(self):
        return any(category == TF_TEXT for category in self.categories.values())

    @property
    def min_tf_serving(self):
        if not self.ok:
            return None
        floors = [min_tf_serving_for(op, category) for op, category in self.categories.items()
                  if category == TF_TEXT]
        return max(floors, key=_version_key, default=None)


def _version_key(version):
    return tuple(int(part) for part in version.split("."))


def min_tf_serving_for(op, category):
    """The TF Serving floor of one tf-text op (see the module constants); ``None`` for other ops."""
    if category != TF_TEXT:
        return None
    if op in TF_TEXT_OP_FLOORS:
        return TF_TEXT_OP_FLOORS[op]
    return TF_TEXT_FLOOR if op in OLD_TF_TEXT_OPS else NEWEST_FLOOR


@functools.lru_cache(maxsize=1)
def registered_ops():
    """``(core, tf_text)``: frozensets of op names, read in a child process importing only TF first."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run([sys.executable, "-c", _REGISTRY_SCRIPT], capture_output=True, text=True,
                               env=env, timeout=300)
    if completed.returncode:
        raise RuntimeError(f"could not list TensorFlow's registered ops:\n{completed.stderr[-2000:]}")
    names = json.loads(completed.stdout.strip().splitlines()[-1])
    return frozenset(names["core"]), frozenset(names["tf_text"])


def read_saved_model_proto(saved_model_dir):
    """The ``SavedModel`` protocol buffer in ``saved_model_dir/saved_model.pb``."""
    from tensorflow.core.protobuf import saved_model_pb2

    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as handle:
        return saved_model_pb2.SavedModel.FromString(handle.read())


def saved_model_op_counts(saved_model):
    """Op type → node count over every meta graph, its graph and all library functions.

    A node whose op names a library function (a direct function call) is a call, not an op,
    and is left out; the function's own nodes are counted where it is defined.
    """
    counts = collections.Counter()
    for meta_graph in saved_model.meta_graphs:
        graph = meta_graph.graph_def
        functions = {function.signature.name for function in graph.library.function}
        nodes = list(graph.node)
        for function in graph.library.function:
            nodes.extend(function.node_def)
        counts.update(node.op for node in nodes if node.op not in functions)
    return dict(counts)


def classify_ops(op_types, core=None, tf_text=None):
    """Op type → category for each of ``op_types``; registries default to :func:`registered_ops`."""
    if core is None or tf_text is None:
        core, tf_text = registered_ops()
    categories = {}
    for op in op_types:
        if op in PYTHON_ONLY_OPS:
            categories[op] = PYTHON_ONLY
        elif op in core:
            categories[op] = CORE
        elif op in tf_text:
            categories[op] = TF_TEXT
        else:
            categories[op] = UNKNOWN
    return categories


def check_saved_model_ops(saved_model_dir):
    """List and classify the ops of the SavedModel in ``saved_model_dir``; returns an :class:`OpReport`."""
    saved_model = read_saved_model_proto(saved_model_dir)
    counts = saved_model_op_counts(saved_model)
    writer = saved_model.meta_graphs[0].meta_info_def.tensorflow_version if saved_model.meta_graphs else ""
    return OpReport(op_counts=counts, categories=classify_ops(counts), tensorflow_version=writer)


def format_report(report):
    """A Markdown table (op, category, nodes, TF Serving floor) followed by the verdict line."""
    order = {PYTHON_ONLY: 0, UNKNOWN: 1, TF_TEXT: 2, CORE: 3}
    rows = sorted(report.categories.items(), key=lambda item: (order[item[1]], item[0]))
    lines = ["| op | category | nodes | TF Serving ≥ |", "|---|---|---|---|"]
    for op, category in rows:
        floor = {CORE: "-", TF_TEXT: min_tf_serving_for(op, category)}.get(category, "never")
        lines.append(f"| {op} | {category} | {report.op_counts[op]} | {floor} |")
    core = f"core ops checked against the installed TensorFlow; written by TensorFlow {report.tensorflow_version}"
    if report.ok and report.needs_tf_text:
        lines.append(f"\nOK: {len(rows)} op types; tensorflow-text ops need TF Serving >= {report.min_tf_serving} "
                     f"(or `import tensorflow_text` in Python); {core}.")
    elif report.ok:
        lines.append(f"\nOK: {len(rows)} op types, no tensorflow-text ops; {core}.")
    else:
        lines.append(f"\nFAIL: TF Serving cannot load these ops: {', '.join(report.problems)}.")
    return "\n".join(lines)
