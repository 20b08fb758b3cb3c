"""The numbers a verdict rests on, from numpy and scipy.

- A model's mean score per grader with a 95% percentile-bootstrap interval (scipy.stats.bootstrap).
- A pair of models on the same examples: win/tie/loss, the mean difference with a paired bootstrap
  interval, and the Wilcoxon signed-rank test (scipy.stats.wilcoxon; ties dropped, so on 0/1
  scores it is the sign test). The p-values of one grader's comparisons are Holm-adjusted together.
- "B beat A" only when the adjusted p-value is under ALPHA *and* the interval of the difference
  excludes 0; otherwise the verdict says there is no significant difference.

Bootstraps use a fixed seed, so the same results give the same report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ALPHA = 0.05
CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 0
TIE = 1e-9


@dataclass
class Summary:
    n: int
    mean: float | None
    low: float | None
    high: float | None


@dataclass
class Comparison:
    a: str
    b: str
    grader: str
    n: int
    wins: int  # b scored higher than a
    ties: int
    losses: int
    mean_diff: float | None  # b - a
    low: float | None
    high: float | None
    p_value: float | None
    p_adjusted: float | None = None
    verdict: str = "not enough data"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _bootstrap(data: Any) -> tuple[float, float]:
    import numpy as np
    from scipy import stats

    if len(data) < 2 or float(np.ptp(data)) == 0.0:
        m = float(np.mean(data))
        return m, m
    res = stats.bootstrap(
        (data,),
        np.mean,
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(SEED),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarize(scores: list[float]) -> Summary:
    import numpy as np

    if not scores:
        return Summary(0, None, None, None)
    data = np.asarray(scores, dtype=float)
    low, high = _bootstrap(data)
    return Summary(len(scores), float(data.mean()), low, high)


def compare(a_name: str, b_name: str, grader: str, a: list[float], b: list[float]) -> Comparison:
    """`a` and `b` are scores on the same examples, in the same order."""
    import numpy as np
    from scipy import stats

    diff = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = len(diff)
    wins, losses = int((diff > TIE).sum()), int((diff < -TIE).sum())
    out = Comparison(a_name, b_name, grader, n, wins, n - wins - losses, losses, None, None, None, None)
    if n == 0:
        return out
    out.mean_diff = float(diff.mean())
    out.low, out.high = _bootstrap(diff)
    nonzero = diff[np.abs(diff) > TIE]
    if len(nonzero) == 0:
        out.p_value = 1.0
    else:
        out.p_value = float(stats.wilcoxon(nonzero, zero_method="wilcox").pvalue)
    return out


def holm(comparisons: list[Comparison]) -> None:
    """Holm-adjust the p-values of one grader's comparisons, then write each verdict."""
    ranked = sorted((c for c in comparisons if c.p_value is not None), key=lambda c: c.p_value or 0.0)
    m, running = len(ranked), 0.0
    for i, c in enumerate(ranked):
        running = max(running, min(1.0, (m - i) * (c.p_value or 0.0)))
        c.p_adjusted = running
    for c in comparisons:
        c.verdict = verdict(c)


def verdict(c: Comparison) -> str:
    if c.p_adjusted is None or c.mean_diff is None or c.low is None or c.high is None:
        return "not enough data"
    if c.p_adjusted < ALPHA and c.low > 0:
        return f"{c.b} beat {c.a}"
    if c.p_adjusted < ALPHA and c.high < 0:
        return f"{c.a} beat {c.b}"
    return "no significant difference"


def percentile(values: list[float], q: float) -> float | None:
    import numpy as np

    return float(np.percentile(values, q)) if values else None
