"""What every model config dataclass can do: JSON out, dict in (unknown keys ignored)."""

import dataclasses
import json

from keras_llm.checks import dropout_rate, positive_int
from keras_llm.errors import UserInputError


class ConfigMixin:
    """Mixed into the ``@dataclass`` configs (GPTConfig, BertConfig, RNNConfig)."""

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, values):
        """Build from a dict such as a run's saved config; keys this class lacks are ignored."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


def check_transformer_config(config, positive_fields):
    """Validate a Transformer config in place: sizes, heads dividing the width, dropout.

    Fills ``intermediate_dim`` with ``4 * hidden_dim`` when it is None (GPT-2/BERT's ratio).
    """
    owner = type(config).__name__
    if config.intermediate_dim is None:
        config.intermediate_dim = 4 * config.hidden_dim
    for name in positive_fields:
        positive_int(f"{owner}.{name}", getattr(config, name))
    if config.hidden_dim % config.num_heads:
        raise UserInputError(f"{owner}.num_heads={config.num_heads} must divide hidden_dim={config.hidden_dim}")
    dropout_rate(f"{owner}.dropout", config.dropout)
