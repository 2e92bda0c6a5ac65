"""course_lib._tf_blocks.tall_skinny_r against NumPy's float64 QR."""

import numpy as np
import pytest
import tensorflow as tf

from course_lib._tf_blocks import TSQR_BLOCKS, TSQR_ROWS_PER_COLUMN, tall_skinny_r


@pytest.mark.parametrize("shape", [(5_003, 7), (64, 16), (10, 10), (6, 9), (1, 3)],
                         ids=["blocks-and-rest", "one-block", "square", "wide", "one-row"])
def test_tall_skinny_r_is_the_qr_factor(shape):
    if shape == (5_003, 7):  # the block count is capped; the rows left over join the last QR
        assert 5_003 // (TSQR_ROWS_PER_COLUMN * 7) > TSQR_BLOCKS
    A = np.random.default_rng(sum(shape)).standard_normal(shape)
    r = tall_skinny_r(tf.constant(A)).numpy()
    reference = np.linalg.qr(A, mode="r")
    assert r.shape == reference.shape == (min(shape), shape[1])
    np.testing.assert_array_equal(np.tril(r, -1), 0.0)
    # R is unique up to the signs of its rows (A has full rank)
    signs = np.sign(np.diag(r)) * np.sign(np.diag(reference))
    np.testing.assert_allclose(signs[:, None] * r, reference, rtol=1e-10, atol=1e-10)

