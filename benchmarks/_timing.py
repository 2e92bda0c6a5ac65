"""The timer every benchmark script uses: a median of wall times after one warm-up run."""

import statistics
import time


def median_seconds(function, repeats):
    """Median wall time in seconds of ``function()`` over ``repeats`` runs, after a warm-up."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
