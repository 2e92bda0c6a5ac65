"""Plotting helpers shared by the chapters: image grids, training curves, decision regions.

All labels are English or mathematical notation, so no CJK font is needed. Every function
draws into a Matplotlib figure and returns it; nothing is shown or saved implicitly.
"""

import matplotlib.pyplot as plt
import numpy as np


def _as_display_images(images):
    """Return images as float arrays (n, h, w) or (n, h, w, 3) in [0, 1] for imshow."""
    images = np.asarray(images)
    if len(images) == 0:
        raise ValueError("image_grid needs at least one image")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (n, h, w) or (n, h, w, c), got {images.shape}")
    images = images.astype(np.float64)
    low, high = images.min(), images.max()
    if low >= 0.0 and high > 1.0:  # uint8-style [0, 255]
        images = images / 255.0
    elif low < 0.0:  # generator-style [-1, 1]
        images = (images + 1.0) / 2.0
    return np.clip(images, 0.0, 1.0)


def image_grid(images, *, labels=None, ncols=10, title=None, cell_size=1.0):
    """Draw ``images`` (n, h, w[, c]) in a grid; ``labels`` (n,) become small captions.

    Pixel values may be uint8 in [0, 255], floats in [0, 1] or floats in [-1, 1].
    """
    images = _as_display_images(images)
    n_images = len(images)
    if labels is not None and len(labels) != n_images:
        raise ValueError(f"got {len(labels)} labels for {n_images} images")
    ncols = min(ncols, n_images)
    nrows = int(np.ceil(n_images / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * cell_size, nrows * cell_size),
                             squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < n_images:
            ax.imshow(images[index], cmap="gray" if images.ndim == 3 else None,
                      vmin=0.0, vmax=1.0)
            if labels is not None:
                ax.set_title(str(labels[index]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def training_curves(history, *, keys=None, title=None):
    """Plot per-epoch values from a Keras ``History`` or a dict of lists, one line per key."""
    values = history.history if hasattr(history, "history") else dict(history)
    keys = list(values) if keys is None else list(keys)
    missing = [key for key in keys if key not in values]
    if missing:
        raise KeyError(f"no values recorded for {missing}; recorded: {sorted(values)}")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        epochs = np.arange(1, len(values[key]) + 1)
        ax.plot(epochs, values[key], marker="o", markersize=3, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("value")
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def decision_regions(estimator, X, y, *, ax=None, resolution=200, title=None, padding=0.5):
    """Colour the plane by ``estimator.predict`` and scatter the 2-D points ``X`` (n, 2).

    ``y`` (n,) colours the points; the estimator must be fitted on two features.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_regions needs X of shape (n, 2), got {X.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    x_min, y_min = X.min(axis=0) - padding
    x_max, y_max = X.max(axis=0) + padding
    grid_x, grid_y = np.meshgrid(np.linspace(x_min, x_max, resolution),
                                 np.linspace(y_min, y_max, resolution))
    predicted = estimator.predict(np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    classes = np.unique(y)
    class_index = np.searchsorted(classes, np.asarray(predicted).reshape(grid_x.shape))
    ax.contourf(grid_x, grid_y, class_index, levels=np.arange(len(classes) + 1) - 0.5,
                cmap="coolwarm", alpha=0.3)
    ax.scatter(X[:, 0], X[:, 1], c=np.searchsorted(classes, y), cmap="coolwarm",
               edgecolors="k", linewidths=0.3, s=18)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax.figure
