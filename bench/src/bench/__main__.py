"""`python -m bench [gateway|tasks|cache ...] [--quick]`: run the benchmarks and write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import machine, report
from bench.loadgen import ensure_node_modules
from bench.procs import WORK, cpu_share, kill_leftovers, machine_busy, raise_nofile
from bench.profile import FULL, QUICK
from bench.stack import AMQP_URL

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
BENCHMARKS = ("gateway", "tasks", "cache")


def _command() -> str:
    """This invocation as a reader would retype it, the --note text left out (the report shows it apart)."""
    words, skip = ["python -m bench"], False
    for word in sys.argv[1:]:
        if skip:
            skip = False
        elif word == "--note":
            words.append("--note ...")
            skip = True
        elif word.startswith("--note="):
            words.append("--note ...")
        else:
            words.append(word)
    return " ".join(words)


def log(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


async def _run(args: argparse.Namespace, results: dict[str, Any]) -> None:
    profile = QUICK if args.quick else FULL
    redis_url = os.environ.get("BOARDCAST_REDIS_URL", "redis://127.0.0.1:6379/0")
    for name in args.benchmarks or BENCHMARKS:
        started, busy0 = time.monotonic(), machine_busy()
        context = {
            "command": _command(),
            "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg_start": round(os.getloadavg()[0], 2),
        }
        if name == "gateway":
            from bench.gateway import suite as gateway

            only = set(args.systems.split(",")) if args.systems else None
            fresh = await gateway.run(profile, redis_url, log, only)
            if only and "gateway" in results:  # a subset replaces only its own systems' numbers
                results["gateway"]["systems"].update(fresh["systems"])
            else:
                results["gateway"] = fresh
        elif name == "tasks":
            from bench import writes

            results["tasks"] = await writes.run(profile, redis_url, log)
        elif name == "cache":
            from bench import staleness

            results["cache"] = await staleness.run(profile, redis_url, log)
        context["loadavg_end"] = round(os.getloadavg()[0], 2)
        context["machine_busy_cores"] = round(cpu_share(busy0, machine_busy()), 2)
        context["duration_s"] = round(time.monotonic() - started, 1)
        if name == "gateway" and args.systems and "context" in results[name]:
            # A subset re-run: the section keeps its main run's context and lists this one beside it.
            context["systems"] = args.systems
            results[name].setdefault("more_contexts", []).append(context)
        else:
            results[name]["context"] = context


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("benchmarks", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument(
        "--quick", action="store_true", help="one short repetition each; writes under bench/.work"
    )
    parser.add_argument(
        "--systems",
        help="gateway only, comma-separated: boardcast, boardcast-amqp, naive, python-socketio, "
        "node-socketio, calibration",
    )
    parser.add_argument(
        "--out", type=Path, help="report path (default docs/benchmarks.md; --quick: bench/.work)"
    )
    parser.add_argument("--note", help="a sentence for the report's header (e.g. why a broker was swapped)")
    parser.add_argument(
        "--report-only", action="store_true", help="re-render the report from the saved results"
    )
    args = parser.parse_args()
    unknown = [b for b in args.benchmarks if b not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
    if args.systems:
        from bench.gateway.suite import SYSTEMS

        keys = [cls.key for cls in SYSTEMS]
        if bad := [k for k in args.systems.split(",") if k not in keys]:
            parser.error(f"unknown system {', '.join(bad)}: choose from {', '.join(keys)}")
    out: Path = args.out or (WORK / "quick" / "benchmarks.md" if args.quick else DOCS / "benchmarks.md")
    results_path = out.parent / "benchmarks" / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}
    if not args.report_only:
        raise_nofile()
        ensure_node_modules()
        argv = _command()
        meta = {
            "command": argv,
            "profile": "quick" if args.quick else "full",
            "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine.describe(),
            "redis_url": os.environ.get("BOARDCAST_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "amqp_url": AMQP_URL.replace("guest:guest@", ""),
            "note": args.note or "",
        }
        partial_run = bool(args.benchmarks or args.systems) and "meta" in results
        if partial_run:
            # A re-run of one part keeps the header of the full run it completes and is listed beside it.
            results["meta"].setdefault("also", []).append(f"{meta['command']} ({meta['started']})")
            results["meta"]["note"] = meta["note"] or results["meta"].get("note", "")
        else:
            results["meta"] = meta
        started = time.monotonic()
        # Children run in sessions of their own; an interrupted harness must not leave them behind.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            asyncio.run(_run(args, results))
        finally:
            kill_leftovers()
        if not partial_run:
            results["meta"]["wall_s"] = round(time.monotonic() - started, 1)
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    report.write(results, out)
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
