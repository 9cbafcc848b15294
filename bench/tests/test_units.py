"""Unit tests of the harness's own arithmetic and report: percentiles, markers, the markdown and charts."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

from bench.events import EventFactory
from bench.stats import median, percentile, ratio
from boardcast_contracts import TaskUpdated, decode_event

from bench import report


def test_percentile_interpolates_and_handles_edges() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 99) == 5
    assert percentile(list(range(101)), 99) == 99
    assert math.isnan(percentile([], 50))
    assert median([3, math.nan, 1]) == 2
    assert math.isnan(ratio(1.0, 0.0))


def test_benchmark_events_are_valid_contract_events_in_seq_order() -> None:
    project = uuid.uuid4()
    factory = EventFactory(project)
    first, second = factory.next(), factory.next()
    event = decode_event(json.dumps(first))
    assert isinstance(event, TaskUpdated)
    assert event.project_id == project
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["event_id"] != second["event_id"]
    k, stamp = second["data"]["task"]["title"].removeprefix("bench@").split("@")
    assert k == "2" and int(stamp) > 0  # the marker number is the seq
    assert 700 < len(json.dumps(first)) < 1200


def _system(label: str, rate: float, p99: float, kib: float) -> dict[str, object]:
    runs = [{"delivered_per_s": rate * f, "delivered_per_cpu_s": rate * f} for f in (0.9, 1.0, 1.1)]
    lat = {"median_p50_ms": p99 / 3, "median_p99_ms": p99, "median_offered_per_s": 5000.0, "runs": []}
    return {
        "label": label,
        "room": {
            "throughput": {
                "runs": runs,
                "median_delivered_per_s": rate,
                "median_delivered_per_cpu_s": rate,
                "median_server_cores": 0.9,
                "median_loadgen_cores": 0.4,
            },
            "latency_common": lat,
            "latency_half": lat,
        },
        "idle": {"kib_per_conn": kib, "sockets": 10_000},
    }


def test_report_states_goals_ratios_and_failures(tmp_path: Path) -> None:
    results = {
        "meta": {"command": "python -m bench", "profile": "full", "machine": {"cores": 2}},
        "gateway": {
            "systems": {
                "boardcast": _system("ours", 120_000, 8.0, 12.0),
                "naive": _system("naive", 6_000, 300.0, 70.0),
                "python-socketio": {"label": "python-socketio", "room": {"error": "RuntimeError('boom')"}},
            }
        },
    }
    out = tmp_path / "benchmarks.md"
    report.write(results, out)
    text = out.read_text()
    assert "| gateway delivered msg/s, one process | ≥ 100,000 | 120,000 | **met** |" in text
    assert "20.0x" in text  # ours / naive
    assert "failed: `RuntimeError('boom')`" in text
    assert "vs python-socketio (throughput; per core) | ≥ 3x | n/a; n/a | n/a" in text
    for chart in ("gateway-throughput.png", "gateway-latency.png", "gateway-memory.png"):
        assert (tmp_path / "benchmarks" / chart).stat().st_size > 1000
