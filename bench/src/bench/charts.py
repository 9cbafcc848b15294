"""The report's charts (matplotlib, PNG): one small function per figure, each returning the file it wrote."""

from __future__ import annotations

import math
from pathlib import Path
from textwrap import fill
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import ScalarFormatter

OURS = "#1f6feb"
PEER = "#8b949e"


CALIBRATION = "#d0d7de"


def _colors(keys: list[str]) -> list[str]:
    return [OURS if k.startswith("boardcast") else CALIBRATION if k == "calibration" else PEER for k in keys]


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _bars_with_runs(
    ax: Any, labels: list[str], medians: list[float], runs: list[list[float]], colors: list[str]
) -> None:
    xs = range(len(labels))
    bars = ax.bar(xs, [0 if math.isnan(m) else m for m in medians], color=colors, alpha=0.85)
    ax.bar_label(bars, labels=[f"{m:,.1f}" if m < 100 else f"{m:,.0f}" for m in medians], fontsize=8)
    for x, values in zip(xs, runs, strict=True):
        ax.scatter([x] * len(values), values, color="black", s=12, zorder=3)
    ax.set_xticks(list(xs), labels, rotation=20, ha="right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def fanout_throughput(systems: dict[str, Any], out: Path) -> Path:
    keys = [k for k, s in systems.items() if "throughput" in s.get("room", {})]
    tp = [systems[k]["room"]["throughput"] for k in keys]
    labels = [systems[k]["label"] for k in keys]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    _bars_with_runs(
        left,
        labels,
        [t["median_delivered_per_s"] / 1000 for t in tp],
        [[r["delivered_per_s"] / 1000 for r in t["runs"]] for t in tp],
        _colors(keys),
    )
    left.set_ylabel("delivered messages/s (thousands)")
    left.set_title("Fan-out throughput, one room of 1,000 sockets")
    _bars_with_runs(
        right,
        labels,
        [t["median_delivered_per_cpu_s"] / 1000 for t in tp],
        [[r["delivered_per_cpu_s"] / 1000 for r in t["runs"]] for t in tp],
        _colors(keys),
    )
    right.set_ylabel("deliveries per server CPU-s (thousands)")
    right.set_title("Per core: deliveries per CPU-second of the server")
    return _save(fig, out / "gateway-throughput.png")


def fanout_latency(systems: dict[str, Any], out: Path) -> Path:
    keys = [k for k, s in systems.items() if "latency_common" in s.get("room", {})]
    labels = [systems[k]["label"] for k in keys]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, name, title in (
        (axes[0], "latency_common", "at the same offered load for all"),
        (axes[1], "latency_half", "at half of each system's own max throughput"),
    ):
        rooms = [systems[k]["room"][name] for k in keys]
        xs = list(range(len(keys)))
        p50 = [r["median_p50_ms"] for r in rooms]
        p99 = [r["median_p99_ms"] for r in rooms]
        ax.bar([x - 0.2 for x in xs], p50, width=0.4, color=_colors(keys), alpha=0.55, label="p50")
        ax.bar([x + 0.2 for x in xs], p99, width=0.4, color=_colors(keys), alpha=0.95, label="p99")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.set_xticks(xs, labels, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("publish -> client receive (ms, log scale)")
        offered = [r["median_offered_per_s"] for r in rooms]
        if name == "latency_common" and offered:
            title += f" ({offered[0]:,.0f} deliveries/s)"
        ax.set_title(f"Fan-out latency p50 (light) / p99 (dark)\n{title}", fontsize=10)
        ax.axhline(10, color="red", linestyle="--", linewidth=0.8)
        ax.grid(axis="y", alpha=0.3, which="both")
    return _save(fig, out / "gateway-latency.png")


def fanout_sweep(systems: dict[str, Any], keys: list[str], out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for key, color in zip(keys, _colors(keys), strict=True):
        room = systems[key]["room"]
        points = sorted((float(rate), p) for rate, p in room["sweep"].items())
        xs = [rate * room["sockets"] / 1000 for rate, _ in points]
        ax.plot(
            xs, [p["median_p99_ms"] for _, p in points], marker="o", color=color, label=systems[key]["label"]
        )
        ax.plot(
            xs, [p["median_p50_ms"] for _, p in points], marker=".", color=color, alpha=0.45, linestyle=":"
        )
    ax.axhline(10, color="red", linestyle="--", linewidth=0.8, label="goal: p99 10 ms")
    ax.set_xlabel("offered load (thousand deliveries/s into one room of 1,000 sockets)")
    ax.set_ylabel("publish -> client receive (ms)")
    ax.set_title("Fan-out latency against load: p99 (solid), p50 (dotted)", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out / "gateway-latency-sweep.png")


def fanout_memory(systems: dict[str, Any], out: Path) -> Path:
    keys = [k for k, s in systems.items() if "kib_per_conn" in s.get("idle", {})]
    labels = [f"{fill(systems[k]['label'], 24)}\n({systems[k]['idle']['sockets']:,} sockets)" for k in keys]
    values = [systems[k]["idle"]["kib_per_conn"] for k in keys]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(range(len(keys)), values, color=_colors(keys))
    ax.axhline(16, color="red", linestyle="--", linewidth=0.8, label="goal: 16 KiB")
    ax.set_xticks(list(range(len(keys))), labels, fontsize=7)
    ax.set_ylabel("server RSS per idle connection (KiB)")
    ax.set_title("Memory per idle WebSocket connection")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, out / "gateway-memory.png")


def tasks_writes(tasks: dict[str, Any], out: Path) -> Path:
    workers = tasks.get("workers", 1)
    labels = [f"relay on, {workers} workers", f"relay off, {workers} workers"]
    cfgs = [tasks["relay_on"], tasks["relay_off"]]
    colors = [OURS, PEER]
    if "relay_on_1w" in tasks:
        labels.append("relay on, 1 worker")
        cfgs.append(tasks["relay_on_1w"])
        colors.append(OURS)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    _bars_with_runs(
        left,
        labels,
        [c["median_writes_per_s"] for c in cfgs],
        [[r["writes_per_s"] for r in c["runs"]] for c in cfgs],
        colors,
    )
    left.axhline(400, color="red", linestyle="--", linewidth=0.8)
    left.set_ylabel("committed writes/s")
    left.set_title("tasks-api PATCH status throughput")
    xs = list(range(len(cfgs)))
    right.bar([x - 0.2 for x in xs], [c["median_p50_ms"] for c in cfgs], width=0.4, color=colors, alpha=0.5)
    right.bar([x + 0.2 for x in xs], [c["median_p99_ms"] for c in cfgs], width=0.4, color=colors)
    right.set_xticks(xs, labels, rotation=20, ha="right", fontsize=8)
    right.set_ylabel("request latency (ms)")
    right.set_title("p50 (light) / p99 (dark)")
    for ax in (left, right):
        ax.grid(axis="y", alpha=0.3)
    return _save(fig, out / "tasks-writes.png")


def cache_staleness(cache: dict[str, Any], out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4))
    for key, label in (("from_request_ms", "from PATCH sent"), ("from_response_ms", "from PATCH answered")):
        values = sorted(cache["samples"][key])
        if values:
            ys = [(i + 1) / len(values) for i in range(len(values))]
            ax.plot(values, ys, label=label)
    ax.axvline(50, color="red", linestyle="--", linewidth=0.8, label="goal: p99 < 50 ms")
    ax.set_xlabel("staleness window: until the cache key is gone (ms)")
    ax.set_ylabel("fraction of changes")
    ax.set_title("Cache invalidation after a task change (CDF)")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, out / "cache-staleness.png")
