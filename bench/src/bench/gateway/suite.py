"""Run the fan-out benchmark over our gateway and every peer, one system at a time on a quiet machine."""

from __future__ import annotations

import contextlib
from typing import Any

from bench.gateway.boardcast import BoardcastGateway, BoardcastGatewayAmqp
from bench.gateway.run import Log, measure_idle, measure_room
from bench.gateway.systems import PEERS, Blaster, System
from bench.profile import Profile

SYSTEMS: list[type[System]] = [BoardcastGateway, BoardcastGatewayAmqp, *PEERS, Blaster]
IDLE_SYSTEMS = {
    "boardcast",
    "naive",
    "python-socketio",
    "node-socketio",
}  # the AMQP variant holds sockets alike


async def _with_system(cls: type[System], redis_url: str, log: Log, job: Any) -> dict[str, Any]:
    system = cls(redis_url)
    try:
        await system.start()
        result: dict[str, Any] = await job(system)
        return result
    except Exception as exc:  # one system failing must not lose the others' numbers
        log(f"  FAILED: {exc!r}")
        return {"error": repr(exc)}
    finally:
        with contextlib.suppress(Exception):
            await system.stop()


async def run(profile: Profile, redis_url: str, log: Log, only: set[str] | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {"systems": {}}
    chosen = [cls for cls in SYSTEMS if not only or cls.key in only]
    for cls in chosen:
        log(f"gateway: {cls.label}: one room of {profile.room_sockets} sockets")
        room = await _with_system(cls, redis_url, log, lambda s: measure_room(s, profile, log))
        results["systems"][cls.key] = {"label": cls.label, "room": room}
    for cls in [c for c in chosen if c.key in IDLE_SYSTEMS]:
        count = profile.naive_idle_sockets if cls.key == "naive" else profile.idle_sockets
        log(f"gateway: {cls.label}: {count} idle sockets")
        idle = await _with_system(cls, redis_url, log, lambda s, n=count: measure_idle(s, n, log))
        results["systems"][cls.key]["idle"] = idle
    return results
