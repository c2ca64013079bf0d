"""The one cache of compiled decoding functions: per model, by kind and static options.

A compiled decoding loop (``tf.function``, often with XLA) is traced for the values that fix
its shapes or its graph (``max_new_tokens``, ``num_beams``, the strategy, caching) and takes
everything else (temperature, seed, length penalty, ...) as tensor arguments. This module
keeps one such function per ``(model, kind, static)`` so every later call reuses its traces.

The functions are stored on the model object itself (its ``__dict__``, which Keras neither
tracks nor saves), so they go when the model goes. A ``weakref.WeakKeyDictionary`` keyed by
the model would never let go: each function reaches its model through the stepper it closes
over, and a weak-key dictionary's values keep their keys alive (measured: the model was never
collected).
"""

_ATTRIBUTE = "_keras_llm_compiled"


def compiled_function(model, kind, static, make):
    """The function ``make()`` for ``(model, kind, static)``, made on first use and then reused.

    Args:
        model: the Keras model the function decodes with.
        kind: a name for what the function does, e.g. ``"gpt_decode"``.
        static: a hashable tuple of the Python values the function is traced for.
        make: ``() -> callable``, usually a ``tf.function``; called only on a cache miss.

    Example:
        >>> run = compiled_function(model, "gpt_beam", (8, 4), lambda: tf.function(search, jit_compile=True))
    """
    functions = model.__dict__.setdefault(_ATTRIBUTE, {})
    key = (kind, static)
    if key not in functions:
        functions[key] = make()
    return functions[key]
