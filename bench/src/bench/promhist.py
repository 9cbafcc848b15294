"""Read a Prometheus histogram from a service's /metrics, and its quantiles as bucket bounds."""

from __future__ import annotations

import math

import httpx

Buckets = list[tuple[float, float]]  # (upper bound in seconds, cumulative count), ascending


async def scrape(url: str, metric: str) -> Buckets:
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(url)).text
    buckets: Buckets = []
    for line in text.splitlines():
        if line.startswith(f"{metric}_bucket{{") and 'le="' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((math.inf if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    return sorted(buckets)


def between(before: Buckets, after: Buckets) -> Buckets:
    """What was observed between two scrapes of the same histogram."""
    earlier = dict(before)
    return [(le, n - earlier.get(le, 0.0)) for le, n in after]


def quantile_ms(buckets: Buckets, q: float) -> float:
    """The upper bound (ms) of the bucket holding quantile ``q``: the true value is at most this."""
    total = buckets[-1][1] if buckets else 0.0
    return next((le * 1000 for le, n in buckets if total and n >= q * total), math.nan)
