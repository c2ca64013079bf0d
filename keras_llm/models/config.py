"""What every model config dataclass can do: JSON out, dict in (unknown keys ignored)."""

import dataclasses
import json


class ConfigMixin:
    """Mixed into the ``@dataclass`` configs (GPTConfig, BertConfig, RNNConfig)."""

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, values):
        """Build from a dict such as a run's saved config; keys this class lacks are ignored."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})
