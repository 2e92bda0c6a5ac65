"""Loading a ``.keras`` file that ships inside the package."""

import keras


def load_shipped_model(path, command):
    """Load the uncompiled model at ``path``; if it is missing, name ``command`` to recreate it.

    ``path`` is a :class:`pathlib.Path` inside the package, ``command`` the ``python -m ...``
    module that writes it.
    """
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; recreate it with `python -m {command}` or reinstall course_lib")
    return keras.saving.load_model(path, compile=False)
