"""Percentiles and medians."""

from __future__ import annotations

import math
import statistics


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction 0.5 = p50, 0.99 = p99)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def ms(seconds: list[float]) -> list[float]:
    return [s * 1000 for s in seconds]
