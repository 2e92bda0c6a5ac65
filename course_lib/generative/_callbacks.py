"""``SampleGrid``: a grid of samples every few epochs, shown inline and optionally saved."""

import pathlib

import keras
import matplotlib.pyplot as plt

from course_lib import viz


def _show_inline(figure):
    """Display ``figure`` in a running IPython kernel; do nothing elsewhere (scripts, tests)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return False
    if get_ipython() is None:
        return False
    display(figure)
    return True


class SampleGrid(keras.callbacks.Callback):
    """Draw ``model.sample_grid_images()`` every ``every`` epochs.

    The model returns ``(images, ncols)``: images (n, h, w, c) in its pixel range, from noise
    fixed per model so that epochs compare. The grid is drawn with
    :func:`course_lib.viz.image_grid`, shown inline in notebooks, saved as
    ``<directory>/<prefix>_epoch_<NNN>.png`` when ``directory`` is given, then closed.

    Parameters
    ----------
    every : int, default=1
    directory : path-like or None, default=None
    show : bool, default=True
        Display inline when running in IPython.
    prefix : str, default="samples"
    cell_size : float, default=0.5
        Inches per image in the figure.

    Attributes
    ----------
    saved_paths : list of pathlib.Path
        Files written so far.
    """

    def __init__(self, every=1, *, directory=None, show=True, prefix="samples", cell_size=0.5):
        super().__init__()
        if int(every) < 1:
            raise ValueError(f"every must be a positive integer, got {every}")
        self.every = int(every)
        self.directory = pathlib.Path(directory) if directory is not None else None
        self.show = show
        self.prefix = prefix
        self.cell_size = cell_size
        self.saved_paths = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        images, ncols = self.model.sample_grid_images()
        figure = viz.image_grid(images, ncols=ncols, title=f"epoch {epoch + 1}",
                                cell_size=self.cell_size)
        try:
            if self.directory is not None:
                self.directory.mkdir(parents=True, exist_ok=True)
                path = self.directory / f"{self.prefix}_epoch_{epoch + 1:03d}.png"
                figure.savefig(path)
                self.saved_paths.append(path)
            if self.show:
                _show_inline(figure)
        finally:
            plt.close(figure)
