"""Train a model uninterrupted, and again interrupted and resumed with ``BackupAndRestore``."""

import keras
import pytest

from course_lib import config


class Interrupt(keras.callbacks.Callback):
    """Raise at the end of epoch ``at`` (after BackupAndRestore has written its backup)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError("simulated interruption")


def uninterrupted_and_resumed(make_model, data, epochs, interrupt_at, backup_dir):
    """Return (uninterrupted model, resumed model, the resumed fit's history).

    Each model is built after ``config.set_seed(0)`` and trained on a fresh ``data()``; the
    interrupted run stops after epoch ``interrupt_at`` and the resumed run restores its backup.
    """
    config.set_seed(0)
    uninterrupted = make_model()
    uninterrupted.fit(data(), epochs=epochs, verbose=0)
    backup = keras.callbacks.BackupAndRestore(str(backup_dir))
    config.set_seed(0)
    interrupted = make_model()
    with pytest.raises(RuntimeError, match="simulated interruption"):
        interrupted.fit(data(), epochs=epochs, verbose=0,
                        callbacks=[backup, Interrupt(at=interrupt_at)])
    # The same global seed: tf.data combines it with the pipeline's seed for the shuffle order.
    config.set_seed(0)
    resumed = make_model()
    history = resumed.fit(data(), epochs=epochs, verbose=0, callbacks=[backup])
    return uninterrupted, resumed, history
