"""The confusion matrix of an evaluation as a PNG (matplotlib's Agg canvas, no display needed).

Example:
    >>> save_confusion_png([[5, 1], [0, 4]], ["neg", "pos"], "runs/x/evaluation/test/confusion_matrix.png")
"""

import io
import warnings

import numpy as np

from keras_llm.files import atomic_output


def save_confusion_png(matrix, labels, path, title="confusion matrix"):
    """Write a heat map of ``matrix`` (rows gold, columns predicted) with its counts to ``path`` atomically.

    Class names the plotting font cannot draw (Chinese labels with matplotlib's default font, which
    has no CJK glyphs) would be empty boxes and a warning per character: the plot then numbers the
    classes instead, in the order of ``labels`` (``metrics.json``'s ``confusion_matrix.labels``).

    Args:
        matrix: int ``(n, n)``.
        labels: the ``n`` class names (long names are cut to 16 characters).
        path: the PNG file.
    """
    matrix = np.asarray(matrix)
    names = [label if len(label) <= 16 else label[:15] + "…" for label in map(str, labels)]
    png, missing_glyphs = _render(matrix, names, title)
    if missing_glyphs:
        png, _ = _render(matrix, [str(index) for index in range(len(names))],
                         f"{title} (classes numbered in metrics.json's label order)")
    with atomic_output(path, "wb") as handle:
        handle.write(png)
    return path


def _render(matrix, names, title):
    """``(PNG bytes, whether the font lacked a glyph of the text)``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    size = 2.0 + 0.45 * len(names)
    figure = Figure(figsize=(size + 1.0, size), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(title)
    if len(names) <= 30:  # past that the digits no longer fit in the cells
        for (row, column), count in np.ndenumerate(matrix):
            axes.text(column, row, str(int(count)), ha="center", va="center", fontsize=8,
                      color="white" if count > matrix.max() / 2 else "black")
    buffer = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(buffer, format="png", dpi=100)
    missing = [warning for warning in caught if "missing from font" in str(warning.message)]
    for warning in caught:  # anything else is not ours to hide
        if warning not in missing:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return buffer.getvalue(), bool(missing)
