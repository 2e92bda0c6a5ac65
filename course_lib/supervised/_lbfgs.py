"""Limited-memory BFGS (L-BFGS) with a backtracking Armijo line search, as TensorFlow graph code.

Call :func:`lbfgs_minimize` inside a ``tf.function``; it builds a ``tf.while_loop``. The
two-loop recursion (Nocedal and Wright, Numerical Optimization, algorithm 7.4) is unrolled over
the ``memory`` stored pairs, with masks for the pairs not yet filled.
"""

import tensorflow as tf

ARMIJO_C1 = 1e-4
MAX_HALVINGS = 40


def armijo_backtrack(evaluate, x, f, slope, direction, t0):
    """Halve the step t from ``t0`` until f(x + t d) <= f + c1 t slope (Armijo), at most
    ``MAX_HALVINGS`` times; graph code for a ``tf.while_loop``.

    ``evaluate`` maps a point (d,) to (value, extra), where extra is whatever the caller needs at
    the new point (a gradient, logits). ``slope`` is the directional derivative g . d (< 0).
    Returns (t, value, extra, accepted), accepted False when no halving met the condition.
    """
    def too_high(t, f_new, extra, halvings):
        return tf.logical_and(halvings < MAX_HALVINGS,
                              tf.logical_not(f_new <= f + ARMIJO_C1 * t * slope))

    def halve(t, f_new, extra, halvings):
        t = 0.5 * t
        f_new, extra = evaluate(x + t * direction)
        return t, f_new, extra, halvings + 1

    f1, extra1 = evaluate(x + t0 * direction)
    t, f_new, extra, _ = tf.while_loop(too_high, halve, (t0, f1, extra1, tf.constant(0)))
    return t, f_new, extra, f_new <= f + ARMIJO_C1 * t * slope


def _direction(grad, s_hist, y_hist, rho_hist, count, head, memory):
    """Return -H grad, H the L-BFGS inverse-Hessian estimate from the stored (s, y) pairs."""
    q = grad
    alphas = []
    for j in range(memory):  # newest pair first
        idx = tf.math.floormod(head - 1 - j, memory)
        valid = tf.cast(j < count, grad.dtype)
        alpha = valid * rho_hist[idx] * tf.tensordot(s_hist[idx], q, 1)
        q = q - alpha * y_hist[idx]
        alphas.append(alpha)
    newest = tf.math.floormod(head - 1, memory)
    y_norm2 = tf.tensordot(y_hist[newest], y_hist[newest], 1)
    gamma = tf.where(count > 0,
                     tf.tensordot(s_hist[newest], y_hist[newest], 1)
                     / tf.where(count > 0, y_norm2, tf.ones_like(y_norm2)),
                     tf.ones_like(y_norm2))
    r = gamma * q
    for j in reversed(range(memory)):  # oldest pair first
        idx = tf.math.floormod(head - 1 - j, memory)
        valid = tf.cast(j < count, grad.dtype)
        beta = rho_hist[idx] * tf.tensordot(y_hist[idx], r, 1)
        r = r + valid * (alphas[j] - beta) * s_hist[idx]
    return -r


def lbfgs_minimize(value_and_gradient, x0, *, max_iter, tol, memory=10):
    """Minimise a smooth function from ``x0`` (d,) with L-BFGS.

    Parameters
    ----------
    value_and_gradient : callable
        Maps x (d,) to (scalar value, gradient (d,)), both tensors.
    x0 : tensor of shape (d,)
    max_iter : int32 scalar tensor
    tol : scalar tensor
        Stop when max |gradient| <= tol.
    memory : int
        Number of (s, y) pairs kept.

    Returns
    -------
    x : tensor (d,), the last iterate
    iterations : int32 scalar tensor
    converged : bool scalar tensor
        True when max |gradient| <= tol was reached, or when no step decreases the function
        any more at working precision (the attainable optimum); False at ``max_iter``.
    """
    dtype = x0.dtype
    eps = tf.constant(tf.experimental.numpy.finfo(dtype.as_numpy_dtype).eps, dtype)
    f0, g0 = value_and_gradient(x0)
    d = tf.shape(x0)[0]
    s_hist = tf.zeros(tf.stack([memory, d]), dtype)
    y_hist = tf.zeros(tf.stack([memory, d]), dtype)
    rho_hist = tf.zeros([memory], dtype)

    def line_search(x, f, g, direction, first):
        slope = tf.tensordot(g, direction, 1)
        # The first step has no curvature information: limit its length to 1.
        t0 = tf.where(first, tf.minimum(tf.constant(1.0, dtype),
                                        1.0 / tf.reduce_sum(tf.abs(g))), tf.constant(1.0, dtype))
        return armijo_backtrack(value_and_gradient, x, f, slope, direction, t0)

    def not_done(x, f, g, s_hist, y_hist, rho_hist, count, head, it, stalled):
        return tf.logical_and(
            tf.logical_and(it < max_iter, tf.logical_not(stalled)),
            tf.reduce_max(tf.abs(g)) > tol)

    def step(x, f, g, s_hist, y_hist, rho_hist, count, head, it, stalled):
        direction = _direction(g, s_hist, y_hist, rho_hist, count, head, memory)
        # Fall back to steepest descent if the estimate lost positive definiteness.
        direction = tf.where(tf.tensordot(g, direction, 1) < 0, direction, -g)
        t, f_new, g_new, accepted = line_search(x, f, g, direction, count == 0)
        s = t * direction
        y = g_new - g
        sy = tf.tensordot(s, y, 1)
        store = tf.logical_and(accepted, sy > eps * tf.tensordot(y, y, 1))
        s_hist = tf.where(store, tf.tensor_scatter_nd_update(s_hist, [[head]], [s]), s_hist)
        y_hist = tf.where(store, tf.tensor_scatter_nd_update(y_hist, [[head]], [y]), y_hist)
        rho_hist = tf.where(store, tf.tensor_scatter_nd_update(
            rho_hist, [[head]], [1.0 / tf.where(store, sy, tf.ones_like(sy))]), rho_hist)
        head = tf.where(store, tf.math.floormod(head + 1, memory), head)
        count = tf.where(store, tf.minimum(count + 1, memory), count)
        # Stop when no step decreases f, or when f no longer changes at working precision.
        small_change = tf.abs(f - f_new) <= 64.0 * eps * tf.maximum(tf.abs(f), 1.0)
        stalled = tf.logical_or(tf.logical_not(accepted), small_change)
        x = tf.where(accepted, x + s, x)
        f = tf.where(accepted, f_new, f)
        g = tf.where(accepted, g_new, g)
        return x, f, g, s_hist, y_hist, rho_hist, count, head, it + 1, stalled

    x, _, g, *_, iterations, stalled = tf.while_loop(
        not_done, step,
        (x0, f0, g0, s_hist, y_hist, rho_hist, tf.constant(0), tf.constant(0), tf.constant(0),
         tf.constant(False)))
    return x, iterations, tf.logical_or(stalled, tf.reduce_max(tf.abs(g)) <= tol)
