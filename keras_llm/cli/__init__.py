"""The ``keras-llm`` console script: ``main`` (parser and dispatch) and one plug-in module per task.

Flag spellings live only in this package; the floors below take plain values and config objects.
"""

from keras_llm.cli.main import main

__all__ = ["main"]
