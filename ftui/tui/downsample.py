"""Chart series reduction: a chart a few hundred cells wide cannot show 100,000 points.

Bucketing keeps each bucket's mean, so a long run's curve keeps its shape while plotting cost stays
bounded by the bucket count, not the run length.
"""

from __future__ import annotations

from collections.abc import Sequence


def bucket_mean(xs: Sequence[float], ys: Sequence[float], buckets: int) -> tuple[list[float], list[float]]:
    """At most `buckets` points: the mean x and mean y of consecutive, equal-sized runs."""
    n = min(len(xs), len(ys))
    if n <= buckets or buckets <= 0:
        return list(xs[:n]), list(ys[:n])
    out_x: list[float] = []
    out_y: list[float] = []
    for b in range(buckets):
        lo = b * n // buckets
        hi = (b + 1) * n // buckets
        if hi <= lo:
            continue
        span = hi - lo
        out_x.append(sum(xs[lo:hi]) / span)
        out_y.append(sum(ys[lo:hi]) / span)
    return out_x, out_y


def ema(ys: Sequence[float], weight: float = 0.8) -> list[float]:
    """Exponential moving average with start-up bias correction (TensorBoard-style smoothing)."""
    out: list[float] = []
    last = 0.0
    for i, y in enumerate(ys, start=1):
        last = last * weight + (1 - weight) * y
        out.append(last / (1 - weight**i))
    return out
