"""The confusion matrix of an evaluation as a PNG (matplotlib's Agg canvas, no display needed).

Example:
    >>> save_confusion_png([[5, 1], [0, 4]], ["neg", "pos"], "runs/x/evaluation/test/confusion_matrix.png")
"""

import numpy as np

from keras_llm.files import atomic_output


def save_confusion_png(matrix, labels, path, title="confusion matrix"):
    """Write a heat map of ``matrix`` (rows gold, columns predicted) with its counts to ``path`` atomically.

    Args:
        matrix: int ``(n, n)``.
        labels: the ``n`` class names (long names are cut to 16 characters).
        path: the PNG file.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matrix = np.asarray(matrix)
    names = [label if len(label) <= 16 else label[:15] + "…" for label in map(str, labels)]
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
    with atomic_output(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100)
    return path
