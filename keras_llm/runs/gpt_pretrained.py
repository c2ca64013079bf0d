"""Where a GPT run starts from when it is given ``init_from``: a Hugging Face GPT-2 directory or an
earlier GPT run, with that model's own tokenizer (its ids are what the weights were trained on).

Example:
    >>> model, tokenizer, config = pretrained_gpt("gpt2")   # a Hugging Face GPT-2 directory
"""

import os

from keras_llm.checkpoints import gpt2_config_from_hf, load_hf_gpt2
from keras_llm.errors import UserInputError
from keras_llm.models import GPTConfig
from keras_llm.runs.layout import load_trained_run, read_run_info
from keras_llm.training.run_callbacks import RUN_FILE


def pretrained_gpt(init_from):
    """``(model, tokenizer, GPTConfig)`` of ``init_from``.

    Args:
        init_from: a Hugging Face GPT-2 directory (config.json, model.safetensors, vocab.json,
            merges.txt) or a GPT run directory (its best model); ``package:<module>`` names are
            resolved by the caller (``resolve_model_directory``).

    Raises:
        UserInputError: the directory is neither, or holds another kind of model.
    """
    directory = str(init_from)
    if not os.path.isdir(directory):
        raise UserInputError(f"init_from: not a directory: {directory}")
    if os.path.isfile(os.path.join(directory, RUN_FILE)):
        kind = read_run_info(directory).get("model")
        if kind != "gpt":
            raise UserInputError(f"init_from {init_from}: that run is a {kind!r} run; a GPT starts from a GPT run "
                                 "or a Hugging Face GPT-2 directory")
        model, tokenizer, info = load_trained_run(directory, "gpt")
        return model, tokenizer, GPTConfig.from_dict(info["model_config"])
    model, tokenizer = load_hf_gpt2(directory)
    return model, tokenizer, gpt2_config_from_hf(directory)


def training_window(config, requested):
    """Tokens per training window: ``requested`` (the recipe's or --max-length), at most the model's
    position table (a pretrained model keeps its own; GPT-2's 1,024 positions are slow on a CPU)."""
    return min(int(requested or config.max_length), config.max_length)
