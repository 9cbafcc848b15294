"""Kill each component mid-stream: no update a client sees is lost or doubled.

One stack whose RabbitMQ and Redis connections run through cuttable TCP proxies. A client follows a board
the way the page does — on a close it reconnects to the other gateway replica with ``since`` — while a writer
keeps changing the board; then we kill -9 a gateway, kill -9 tasks-api, cut the broker, cut Redis, kill -9 the
notifier. Every test ends by checking that the client saw seq 1..N exactly once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from boardcast_dev.stack import Stack
from boardcast_testkit import TcpProxy, eventually
from boardcast_testkit.plugin import AMQP_URL, REDIS_URL
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from .conftest import User, register, running_stack, ws_url

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.redis, pytest.mark.timeout(300)]
loop_scope = pytest.mark.asyncio(loop_scope="module")


def _host_port(url: str, default: int) -> tuple[str, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default


@dataclass
class Rig:
    stack: Stack
    amqp: TcpProxy
    redis: TcpProxy


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig() -> AsyncIterator[Rig]:
    amqp = await TcpProxy(*_host_port(AMQP_URL, 5672)).start()
    redis = await TcpProxy(*_host_port(REDIS_URL, 6379)).start()
    try:
        async with running_stack(amqp=amqp, redis=redis) as stack:
            yield Rig(stack, amqp, redis)
    finally:
        await amqp.stop()
        await redis.stop()


@dataclass
class Follower:
    """Follows one board like the page does: resume with since on any close, alternating replicas."""

    stack: Stack
    user: User
    project_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    resyncs: int = 0
    _task: asyncio.Task[None] | None = None
    _stop: bool = False

    @property
    def last_seq(self) -> int:
        return int(self.events[-1]["seq"]) if self.events else self._start

    _start: int = 0

    async def start(self, since: int) -> None:
        self._start = since
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        gateways = ["gateway-1", "gateway-2"]
        while not self._stop:
            gateway = gateways[self.connections % 2]
            self.connections += 1
            url = ws_url(
                self.stack, gateway, f"/ws/projects/{self.project_id}", self.user.token, self.last_seq
            )
            with contextlib.suppress(OSError, WebSocketException, TimeoutError):
                async with connect(url, open_timeout=5) as ws:
                    async for raw in ws:
                        frame = json.loads(raw)
                        if "event_id" in frame:
                            self.events.append(frame)
                        elif frame.get("type") == "resync_required":
                            self.resyncs += 1
            await asyncio.sleep(0.2)  # the page backs off too; a fixed short step keeps the test quick

    async def stop(self) -> None:
        self._stop = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def assert_exactly_once(self, until: int) -> None:
        seqs = [int(e["seq"]) for e in self.events]
        assert self.resyncs == 0, "history should have covered every gap here"
        assert seqs == list(range(self._start + 1, until + 1)), f"gap or repeat in {seqs}"
        assert len({e["event_id"] for e in self.events}) == len(seqs)


@dataclass
class Board:
    api: httpx.AsyncClient
    owner: User
    project_id: str
    ok_writes: int = 0
    failed_writes: int = 0

    async def write(self, i: int) -> None:
        try:
            r = await self.api.post(
                f"/api/projects/{self.project_id}/tasks", json={"title": f"w{i}"}, headers=self.owner.headers
            )
            if r.status_code == 201:
                self.ok_writes += 1
            else:
                self.failed_writes += 1
        except httpx.HTTPError:
            self.failed_writes += 1

    async def seq(self) -> int:
        r = await self.api.get(f"/api/projects/{self.project_id}", headers=self.owner.headers)
        assert r.status_code == 200, r.text
        return int(r.json()["seq"])


async def new_board(rig: Rig, api: httpx.AsyncClient) -> tuple[Board, Follower]:
    owner = await register(api, "owner")
    r = await api.post("/api/projects", json={"name": "reliability"}, headers=owner.headers)
    assert r.status_code == 201, r.text
    board = Board(api, owner, r.json()["id"])
    follower = Follower(rig.stack, owner, board.project_id)
    await follower.start(since=await board.seq())
    return board, follower


async def writes(board: Board, n: int, *, pause: float = 0.02) -> None:
    for i in range(n):
        await board.write(i)
        await asyncio.sleep(pause)


async def settle(board: Board, follower: Follower) -> int:
    final = await eventually(board.seq, timeout=20, what="tasks-api answering")

    async def caught_up() -> bool:
        return follower.last_seq >= final

    await eventually(caught_up, timeout=30, what=f"follower reaching seq {final}")
    return final


@loop_scope
async def test_gateway_killed_mid_stream_client_resumes_on_the_other(rig: Rig, http_for) -> None:
    board, follower = await new_board(rig, http_for(rig.stack.url("tasks-api")))
    writer = asyncio.create_task(writes(board, 60))
    await eventually(lambda: _at_least(follower, 15), timeout=20, what="some events before the kill")
    await rig.stack.kill("gateway-1")
    await writer
    final = await settle(board, follower)
    await follower.stop()
    follower.assert_exactly_once(final)
    assert follower.connections >= 2, "the client should have had to reconnect"
    assert board.ok_writes == 60
    await rig.stack.start_one("gateway-1")


@loop_scope
async def test_tasks_api_killed_mid_writes_loses_and_doubles_nothing(rig: Rig, http_for) -> None:
    board, follower = await new_board(rig, http_for(rig.stack.url("tasks-api")))
    writer = asyncio.create_task(writes(board, 200, pause=0.01))
    await eventually(lambda: _at_least(follower, 10), timeout=20, what="some events before the kill")
    await rig.stack.kill("tasks-api")
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer
    await rig.stack.start_one("tasks-api")
    await writes(board, 10)
    final = await settle(board, follower)
    await follower.stop()
    follower.assert_exactly_once(final)
    # Every acknowledged write is on the board; an unacknowledged one may or may not have committed.
    created = [e for e in follower.events if e["type"] == "task_created"]
    assert len(created) >= board.ok_writes
    assert len(created) == final - follower._start


@loop_scope
async def test_broker_outage_writes_succeed_and_events_follow(rig: Rig, http_for) -> None:
    api = http_for(rig.stack.url("tasks-api"))
    board, follower = await new_board(rig, api)
    await writes(board, 5)
    await rig.amqp.cut()
    try:
        await writes(board, 20)
        assert board.ok_writes == 25, "writes must succeed while RabbitMQ is away"

        async def broker_reported_down() -> bool:
            r = await api.get("/readyz")
            return r.status_code == 503 and "broker" in r.text

        await eventually(broker_reported_down, timeout=20, what="/readyz naming the broker")
    finally:
        await rig.amqp.restore()
    await writes(board, 5)
    final = await settle(board, follower)
    await follower.stop()
    follower.assert_exactly_once(final)


@loop_scope
async def test_redis_cut_mid_stream_heals_without_gap(rig: Rig, http_for) -> None:
    board, follower = await new_board(rig, http_for(rig.stack.url("tasks-api")))
    writer = asyncio.create_task(writes(board, 60, pause=0.03))
    await eventually(lambda: _at_least(follower, 10), timeout=20, what="some events before the cut")
    await rig.redis.cut()
    await asyncio.sleep(1.5)  # the outage itself: how long Redis stays away
    await rig.redis.restore()
    await writer
    final = await settle(board, follower)
    await follower.stop()
    follower.assert_exactly_once(final)


@loop_scope
async def test_notifier_killed_each_notification_exactly_once(rig: Rig, http_for) -> None:
    api = http_for(rig.stack.url("tasks-api"))
    owner, bob = await register(api, "owner"), await register(api, "bob")
    project = (await api.post("/api/projects", json={"name": "notes"}, headers=owner.headers)).json()
    r = await api.post(
        f"/api/projects/{project['id']}/members",
        json={"user_id": bob.id, "role": "editor"},
        headers=owner.headers,
    )
    assert r.status_code == 201
    tasks = []
    for i in range(12):
        r = await api.post(
            f"/api/projects/{project['id']}/tasks", json={"title": f"n{i}"}, headers=owner.headers
        )
        tasks.append(r.json()["id"])

    async def assign(task_id: str) -> None:
        r = await api.patch(
            f"/api/tasks/{task_id}/assign", json={"assignee_id": bob.id}, headers=owner.headers
        )
        assert r.status_code == 200, r.text

    for task_id in tasks[:4]:
        await assign(task_id)
    await rig.stack.kill("notifier")
    for task_id in tasks[4:]:
        await assign(task_id)
    await rig.stack.start_one("notifier")
    notes = http_for(rig.stack.url("notifier"))

    async def assigned() -> list[dict[str, Any]]:
        r = await notes.get("/api/notifications?limit=200", headers=bob.headers)
        assert r.status_code == 200, r.text
        return [n for n in r.json() if n["kind"] == "task_assigned"]

    await eventually(lambda: _count_is(assigned, 12), timeout=30, what="12 task_assigned notifications")
    got = await assigned()
    assert sorted(n["task_id"] for n in got) == sorted(tasks), "one notification per assignment, no more"


async def _at_least(follower: Follower, n: int) -> bool:
    return len(follower.events) >= n


async def _count_is(fetch, n: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await fetch()) >= n
