"""Run the fan-out benchmark over our gateway, its peers and the calibration server, interleaved.

All systems are started and their rooms filled first; then each repetition of each measurement runs once
per system in turn, so a burst of noise from other work on the machine lands on every system alike instead
of on whichever happened to run during it. Memory is measured after, one system at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from bench.gateway.boardcast import BoardcastGateway, BoardcastGatewayAmqp
from bench.gateway.run import Log, Room, measure_idle
from bench.gateway.systems import PEERS, Blaster, System
from bench.profile import Profile

SYSTEMS: list[type[System]] = [BoardcastGateway, BoardcastGatewayAmqp, *PEERS, Blaster]
# The RabbitMQ variant holds sockets exactly as the Redis one does, and calibration is no product.
IDLE_SYSTEMS = ("boardcast", "naive", "python-socketio", "node-socketio")
# Latency against offered load: ours, the fastest peer and the copy-only floor (the Python peers cannot carry
# the rates of the sweep; their latency is measured at the common rate and at half their own max).
SWEEP_SYSTEMS = ("boardcast", "node-socketio", "calibration")


async def _guard(key: str, failures: dict[str, str], log: Log, step: Callable[[], Awaitable[None]]) -> None:
    """Run one step of one system; a failure drops that system from the rest of the run, not the others."""
    if key in failures:
        return
    try:
        await step()
    except Exception as exc:
        log(f"  {key} FAILED: {exc!r}")
        failures[key] = repr(exc)


async def run(profile: Profile, redis_url: str, log: Log, only: set[str] | None = None) -> dict[str, Any]:
    chosen = [cls for cls in SYSTEMS if not only or cls.key in only]
    systems = [cls(redis_url) for cls in chosen]
    rooms = {s.key: Room(s, profile, log) for s in systems}
    failures: dict[str, str] = {}
    results: dict[str, Any] = {"systems": {}}
    try:
        log(f"gateway: starting {len(systems)} systems, one room of {profile.room_sockets} sockets each")
        for system in systems:
            await _guard(system.key, failures, log, system.start)
            await _guard(system.key, failures, log, rooms[system.key].open)
        for i in range(profile.reps):
            log(f"gateway: throughput, round {i + 1}/{profile.reps}")
            for room in rooms.values():
                await _guard(room.system.key, failures, log, room.throughput)
        for name in ("latency_common", "latency_half"):
            for i in range(profile.reps):
                log(f"gateway: {name}, round {i + 1}/{profile.reps}")
                for key, room in rooms.items():
                    common = partial(room.latency, name, profile.common_rate)
                    await _guard(
                        key, failures, log, common if name == "latency_common" else room.latency_half
                    )
        for i in range(profile.reps):
            log(f"gateway: latency against offered load, round {i + 1}/{profile.reps}")
            for rate in profile.sweep_rates:
                for key, room in rooms.items():
                    if key in SWEEP_SYSTEMS:
                        await _guard(key, failures, log, partial(room.latency_at, rate))
    finally:
        for system in systems:
            room = rooms[system.key]
            results["systems"][system.key] = {
                "label": system.label,
                "room": {"error": failures[system.key]} if system.key in failures else room.summary(),
            }
            with contextlib.suppress(Exception):
                await room.close()
            with contextlib.suppress(Exception):
                await system.stop()
    for cls in [c for c in chosen if c.key in IDLE_SYSTEMS]:
        count = {"boardcast": profile.idle_sockets, "naive": profile.naive_idle_sockets}.get(
            cls.key, profile.peer_idle_sockets
        )
        log(f"gateway: {cls.label}: {count} idle sockets")
        system = cls(redis_url)
        try:
            await system.start()
            idle = await measure_idle(system, count, log)
        except Exception as exc:
            log(f"  FAILED: {exc!r}")
            idle = {"error": repr(exc)}
        finally:
            with contextlib.suppress(Exception):
                await system.stop()
        results["systems"][cls.key]["idle"] = idle
    return results
