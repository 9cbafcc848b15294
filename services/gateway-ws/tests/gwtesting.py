"""Helpers for the gateway suite: tokens, fake tasks-api and notifier, sample events, a recording client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import jwt
from boardcast_contracts import CommentDeleted, MemberRemoved, MemberRoleChanged, ProjectEvent, TaskCreated
from gateway_ws import Gateway
from gateway_ws.backlog import Backlog
from gateway_ws.membership import Membership, NotMember
from websockets.asyncio.client import ClientConnection, connect

SECRET = "gateway-test-secret-0123456789-abcdefghijklmnop"


def token(user_id: str, name: str = "", ttl: float = 600, secret: str = SECRET) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "name": name or f"user-{user_id[:6]}", "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


class FakeMembership:
    """tasks-api stand-in: (project, user) -> role; everyone else is not a member."""

    def __init__(self) -> None:
        self.members: dict[tuple[str, str], str] = {}
        self.seq: dict[str, int] = {}
        self.calls = 0

    def add(self, project_id: str, user_id: str, role: str = "editor") -> None:
        self.members[(project_id, user_id)] = role

    def remove(self, project_id: str, user_id: str) -> None:
        self.members.pop((project_id, user_id), None)

    async def check(self, project_id: str, user_id: str, token: str) -> Membership:
        self.calls += 1
        role = self.members.get((project_id, user_id))
        if role is None:
            raise NotMember(project_id)
        return Membership(role=role, seq=self.seq.get(project_id, 0))

    def invalidate(self, project_id: str, user_id: str) -> None:
        return None


class FakeBacklog:
    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, Any]]] = {}

    async def fetch(self, user_id: str, token: str) -> Backlog:
        items = self.items.get(user_id, [])
        return Backlog(unread_count=len(items), items=list(items))


def comment_deleted(project_id: str, seq: int) -> ProjectEvent:
    return CommentDeleted.model_validate(
        {
            "event_id": uuid.uuid4(),
            "project_id": project_id,
            "seq": seq,
            "occurred_at": datetime.now(UTC),
            "actor_id": uuid.uuid4(),
            "data": {"comment_id": uuid.uuid4(), "task_id": uuid.uuid4()},
        }
    )


def task_created(project_id: str, seq: int, title: str = "t") -> ProjectEvent:
    now = datetime.now(UTC)
    task = {
        "id": uuid.uuid4(),
        "project_id": project_id,
        "title": title,
        "status": "todo",
        "position": 1.0,
        "priority": "medium",
        "version": 1,
        "created_by": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
    }
    return TaskCreated.model_validate(
        {
            "event_id": uuid.uuid4(),
            "project_id": project_id,
            "seq": seq,
            "occurred_at": now,
            "actor_id": uuid.uuid4(),
            "data": {"task": task},
        }
    )


def member_removed(project_id: str, seq: int, user_id: str) -> ProjectEvent:
    return MemberRemoved.model_validate(
        {
            "event_id": uuid.uuid4(),
            "project_id": project_id,
            "seq": seq,
            "occurred_at": datetime.now(UTC),
            "actor_id": uuid.uuid4(),
            "data": {"user_id": user_id},
        }
    )


def role_changed(project_id: str, seq: int, user_id: str, role: str, previous: str) -> ProjectEvent:
    return MemberRoleChanged.model_validate(
        {
            "event_id": uuid.uuid4(),
            "project_id": project_id,
            "seq": seq,
            "occurred_at": datetime.now(UTC),
            "actor_id": uuid.uuid4(),
            "data": {"user_id": user_id, "role": role, "previous_role": previous},
        }
    )


def new_id() -> str:
    return str(uuid.uuid4())


class Client:
    """A test client that records every frame it receives, in order, until the socket closes."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for message in self.ws:
                self.frames.append(json.loads(message))
        except Exception:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()

    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if "seq" in f and "event_id" in f]

    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.events()]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == kind]

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        await asyncio.wait_for(self.closed.wait(), timeout)
        return self.close_code

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task


GatewayFactory = Callable[..., Awaitable[Gateway]]


async def open_client(
    gw: Gateway,
    path: str,
    *,
    user_id: str | None = None,
    tok: str | None = None,
    origin: str | None = None,
    subprotocols: list[str] | None = None,
    **kwargs: Any,
) -> Client:
    sep = "&" if "?" in path else "?"
    url = f"{gw.url}{path}"
    if tok is None and user_id is not None:
        tok = token(user_id)
    if tok is not None and subprotocols is None:
        url = f"{url}{sep}token={tok}"
    headers = {"Origin": origin} if origin else None
    ws = await connect(
        url,
        additional_headers=headers,
        subprotocols=subprotocols,  # type: ignore[arg-type]
        compression=None,
        open_timeout=5,
        **kwargs,
    )
    return Client(ws)


async def open_members(gw: Gateway, membership: FakeMembership, pid: str, count: int) -> list[Client]:
    """``count`` new members of ``pid``, one socket each on ``gw``, each past its first frame (hello)."""
    from boardcast_testkit import eventually

    clients = []
    for _ in range(count):
        uid = new_id()
        membership.add(pid, uid)
        clients.append(await open_client(gw, f"/ws/projects/{pid}", user_id=uid))

    for client in clients:

        async def greeted(c: Client = client) -> bool:
            return bool(c.frames)

        await eventually(greeted, what="hello")
    return clients
