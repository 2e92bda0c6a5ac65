"""Flow matching with straight paths: rectified flow (Liu et al. 2023; Lipman et al. 2023).

Convention: time t in [0, 1] runs from the data (t = 0) to the noise (t = 1),

    x_t = (1 - t) x_0 + t z,   z ~ N(0, I),

and the network learns the velocity of that path, d x_t / d t = z - x_0, by least squares:
loss = mean((v(x_t, t, label) - (z - x_0)) ** 2) with t ~ U(0, 1). Sampling integrates
dx/dt = v(x, t) backwards from x_1 = z ~ N(0, I) to t = 0 on the grid t_k = 1 - k / S:

- Euler:  x_{k+1} = x_k - h v(x_k, t_k), h = 1 / S (one network evaluation per step);
- Heun:   x' = x_k - h v(x_k, t_k),  x_{k+1} = x_k - h / 2 (v(x_k, t_k) + v(x', t_{k+1}))
  (two evaluations per step, second order).

Classifier-free guidance combines the velocities as in :func:`guided_prediction`.
"""

import keras
import numpy as np
import tensorflow as tf

from course_lib.generative._base import GRID_COLS
from course_lib.generative._diffusion import _DenoisingModel

METHODS = ("euler", "heun")


def euler_step(x, t, h, velocity):
    """x(t - h) ~ x - h v(x, t) for a velocity function ``velocity(x, t)``."""
    return x - h * velocity(x, t)


def heun_step(x, t, h, velocity):
    """Heun's (trapezoidal predictor-corrector) step from t to t - h."""
    first = velocity(x, t)
    second = velocity(x - h * first, t - h)
    return x - 0.5 * h * (first + second)


@keras.saving.register_keras_serializable(package="course_lib")
class FlowMatching(_DenoisingModel):
    """A rectified-flow model x_t = (1 - t) x_0 + t z trained by ``fit`` on the velocity z - x_0.

    Parameters
    ----------
    network : keras.Model
        [x (n, *shape), time (n,) in [0, 1](, label (n,))] -> velocity (n, *shape).
    label_dropout : float in [0, 1], default=0.1
        Share of training labels replaced by "no label" (K), for classifier-free guidance.
    ema_decay : float in (0, 1) or None, default=0.999
        As in :class:`Diffusion`: the EMA copy that samples by default.
    seed : int, default=0
    num_classes : int or None, default=None

    Notes
    -----
    See the module docstring for the path, the loss and the samplers. ``fit`` reports ``loss``.
    """

    def _training_pair(self, x0, time_seed, noise_seed):
        n = tf.shape(x0)[0]
        t = tf.random.stateless_uniform((n,), time_seed, dtype=tf.float32)
        noise = tf.random.stateless_normal(tf.shape(x0), noise_seed)
        t_full = tf.reshape(t, [-1] + [1] * (x0.shape.rank - 1))
        return (1.0 - t_full) * x0 + t_full * noise, t, noise - x0

    def sample(self, n, steps=10, method="euler", labels=None, guidance=0.0, seed=0,
               use_ema=True, *, noise=None, return_trajectory=False, batch_size=500,
               jit_compile=None):
        """Integrate from noise at t = 1 to data at t = 0: float32 NumPy (n, *shape).

        Parameters
        ----------
        n : int
        steps : int, default=10
            Integration steps S (Heun evaluates the network twice per step).
        method : {"euler", "heun"}, default="euler"
        labels, guidance, use_ema, noise, batch_size, jit_compile
            As in :meth:`Diffusion.sample`.
        seed : int, default=0
            Seeds the start noise, the only randomness: the same seed gives the same samples.
        return_trajectory : bool, default=False
            Also return the states (S + 1, n, *shape) at t = 1, 1 - 1/S, ..., 0.
        """
        if method not in METHODS:
            raise ValueError(f"method={method!r} is not one of {', '.join(METHODS)}")
        if isinstance(steps, bool) or int(steps) != steps or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        steps = int(steps)
        integrate = euler_step if method == "euler" else heun_step

        def make_loop(network, guided, trajectory):
            def loop(x, labels, guidance, seed):
                del seed  # deterministic: the start noise is all the randomness
                n = tf.shape(x)[0]
                h = 1.0 / steps

                def velocity(x, t):
                    return self._prediction(network, x, tf.fill((n,), t), labels, guidance,
                                            guided)

                def step(i, x):
                    t = 1.0 - tf.cast(i, tf.float32) * h
                    return integrate(x, t, h, velocity)

                return self._run_steps(step, x, steps, trajectory)
            return loop

        return self._sample_batches(n, labels, guidance, seed, use_ema, batch_size,
                                    return_trajectory, jit_compile, ("flow", steps, method),
                                    make_loop, noise)

    def sample_grid_images(self):
        """Images (50, h, w, c) in [-1, 1] (20 Euler steps from fixed noise), and 10 columns."""
        self._check_grid()
        images = self.sample(len(self._grid_noise), 20, "euler", labels=self._grid_labels(),
                             seed=self.seed, noise=self._grid_noise)
        return np.clip(images, -1.0, 1.0), GRID_COLS
