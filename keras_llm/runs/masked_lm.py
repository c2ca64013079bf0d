"""Pretrain a BERT masked LM recipe into a run directory, and get its backbone back."""

import os

import keras

from keras_llm.data import read_text
from keras_llm.models.bert import BertConfig
from keras_llm.models.bert_mlm import backbone_from_masked_lm, build_bert_masked_lm
from keras_llm.runs.layout import check_resumed_data, load_trained_run, write_run_info
from keras_llm.runs.lifecycle import run_lifecycle
from keras_llm.runs.recipes import bundled_data_file, load_recipe
from keras_llm.tokenizers import WordPieceTokenizer, load_tokenizer
from keras_llm.training import TrainingConfig
from keras_llm.training.masked_lm import train_masked_lm
from keras_llm.training.run_callbacks import run_paths

MODEL_KIND = "bert-mlm"


@run_lifecycle(MODEL_KIND)
def train_mlm_run(recipe_name="bert-mlm", run_dir=None, corpus=None, training_overrides=None, verbose=1,
                  log=print):
    """Pretrain; returns ``(run_dir, history)``. Re-running with the same ``run_dir`` resumes."""
    recipe = load_recipe(recipe_name)
    path = corpus or bundled_data_file(recipe["corpus"])
    lines = [line for line in read_text(path).split("\n") if line.strip()]  # read_text: one line if unreadable
    fingerprint = check_resumed_data(run_dir, path)
    tokenizer_dir = run_paths(run_dir)["tokenizer"]
    if os.path.isdir(tokenizer_dir):
        tokenizer = load_tokenizer(tokenizer_dir)
    else:
        spec = recipe.get("tokenizer", {})
        tokenizer = WordPieceTokenizer.train(lines, vocab_size=int(spec.get("vocab_size", 8000)),
                                             lowercase=bool(spec.get("lowercase", True)))
    config = BertConfig(vocab_size=tokenizer.vocab_size, **recipe["model_config"])
    training = TrainingConfig(**{**recipe["training"], **(training_overrides or {})})
    keras.utils.set_random_seed(training.seed)
    model = build_bert_masked_lm(config)
    tokenizer.save(tokenizer_dir)
    write_run_info(run_dir, {"recipe": recipe_name, "version": recipe.get("version", 1), "model": MODEL_KIND,
                             "data_sha256": fingerprint,
                             "corpus": os.path.abspath(path), "model_config": vars(config),
                             "max_length": int(recipe.get("max_length", 128)), "training": vars(training)})
    log(f"{recipe_name}: {model.count_params() / 1e6:.2f}M parameters, vocabulary {tokenizer.vocab_size}, "
        f"{len(lines):,} lines from {path}; run directory {run_dir}")
    history = train_masked_lm(model, tokenizer, lines, run_dir, training,
                              max_length=int(recipe.get("max_length", 128)), verbose=verbose)
    log(f"final masked accuracy {history.history['val_masked_accuracy'][-1]:.4f}, "
        f"masked perplexity {history.history['val_perplexity'][-1]:.2f}")
    return run_dir, history


def load_mlm_backbone(run_dir):
    """``(backbone, tokenizer)`` from a pretrained masked-LM run (for fine-tuning)."""
    model, tokenizer, info = load_trained_run(run_dir, MODEL_KIND)
    return backbone_from_masked_lm(model, BertConfig.from_dict(info["model_config"])), tokenizer
