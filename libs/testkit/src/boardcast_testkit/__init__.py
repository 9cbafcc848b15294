"""Boardcast test support: unique names and polling with a deadline (no bare sleeps in tests)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from boardcast_testkit.proxy import TcpProxy

__all__ = ["TcpProxy", "eventually", "unique"]


GENERATED: set[str] = set()
"""Every name unique() made in this process: the plugin deletes broker objects that start with one."""


def unique(prefix: str = "t") -> str:
    """A name no other test (or earlier run) uses: queues, projects, emails, channels."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    GENERATED.add(name)
    return name


T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll ``check`` until it returns something truthy (AssertionError = not yet); fail at ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: BaseException | None = None
    while True:
        try:
            result = await check()
            if result:
                return result
            last = None
        except AssertionError as exc:
            last = exc
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout}s: {what or check}") from last
        await asyncio.sleep(interval)
