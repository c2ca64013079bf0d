"""Deprecated name of :mod:`keras_llm.runs` (recipes and run directories), kept for one release.

``keras_llm.zoo`` was split into :mod:`keras_llm.runs` (recipes, run directories, every task's
``train_*_run``), :mod:`keras_llm.experiments` (``compare``) and :mod:`keras_llm.cli`. The old
module paths (``keras_llm.zoo.gpt_runs`` and so on) still import, with a DeprecationWarning.
"""

import importlib
import sys
import warnings

warnings.warn("keras_llm.zoo is deprecated; use keras_llm.runs (recipes, runs), keras_llm.experiments "
              "(compare) and keras_llm.cli", DeprecationWarning, stacklevel=2)

from keras_llm.runs import *  # noqa: E402, F401, F403
from keras_llm.runs import __all__  # noqa: E402, F401

# Old submodule name → its new home, so `from keras_llm.zoo.gpt_runs import ...` keeps working.
_MOVED = {
    "run_info": "keras_llm.runs.layout",
    "recipes": "keras_llm.runs.recipes",
    "gpt_runs": "keras_llm.runs.gpt",
    "bert_runs": "keras_llm.runs.classifier",
    "mlm_runs": "keras_llm.runs.masked_lm",
    "translator_runs": "keras_llm.runs.translator",
    "tagger_runs": "keras_llm.runs.tagger",
    "compare": "keras_llm.experiments.compare_lm",
    "compare_classify": "keras_llm.experiments.compare_classify",
    "checks": "keras_llm.experiments.model_names",
    "arguments": "keras_llm.cli.arguments",
    "translator_cli": "keras_llm.cli.translator",
    "tagger_cli": "keras_llm.cli.tagger",
}


# Registered up front (a deprecated path is rare; importing its modules costs a second), so
# `from keras_llm.zoo.gpt_runs import train_gpt_run` finds the very module object that moved.
for _old, _new in _MOVED.items():
    sys.modules[f"{__name__}.{_old}"] = importlib.import_module(_new)
    globals()[_old] = sys.modules[_new]
