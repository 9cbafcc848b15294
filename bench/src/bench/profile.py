"""How big and how long each benchmark runs: the full profile of `make bench` and the `--quick` one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    reps: int
    # gateway fan-out
    room_sockets: int
    window: int  # messages in flight in the closed-loop throughput run
    throughput_s: float
    latency_s: float
    common_rate: float  # messages/s into the room that every system is measured at
    sweep_rates: tuple[float, ...]  # messages/s into the room: latency vs load, ours beside the fastest peers
    idle_sockets: int  # our gateway: the 10,000
    peer_idle_sockets: int  # peers: fewer, to keep `make bench` near 10 minutes; memory per socket is flat
    naive_idle_sockets: int  # one Redis connection per socket: kept under the shared Redis's maxclients
    # tasks-api
    tasks_s: float
    tasks_concurrency: int
    tasks_workers: int  # BOARDCAST_WORKERS of the relay on/off pair: one process per core of this machine
    # cache-invalidator
    cache_samples: int


FULL = Profile(
    name="full",
    reps=3,
    room_sockets=1000,
    window=16,
    throughput_s=2.5,
    latency_s=2.0,
    common_rate=2.0,
    sweep_rates=(10.0, 25.0, 50.0, 75.0),
    idle_sockets=10_000,
    peer_idle_sockets=5_000,
    naive_idle_sockets=2_000,
    tasks_s=8.0,
    tasks_concurrency=16,
    tasks_workers=2,
    cache_samples=200,
)

QUICK = Profile(
    name="quick",
    reps=1,
    room_sockets=1000,
    window=16,
    throughput_s=1.5,
    latency_s=1.5,
    common_rate=2.0,
    sweep_rates=(25.0, 50.0),
    idle_sockets=2_000,
    peer_idle_sockets=2_000,
    naive_idle_sockets=1_000,
    tasks_s=3.0,
    tasks_concurrency=16,
    tasks_workers=2,
    cache_samples=40,
)
