"""The unread backlog a /ws/notifications socket starts with, fetched from the notifier as the user."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class Backlog:
    unread_count: int
    items: list[dict[str, Any]] = field(default_factory=list)


class BacklogUnavailable(Exception):
    """The notifier could not answer: close 1013 (try again later)."""


class BacklogRefused(Exception):
    """The notifier refused the token: close 4401."""


class NotificationsBacklog(Protocol):
    async def fetch(self, user_id: str, token: str) -> Backlog: ...


class HttpBacklog:
    """``GET /api/notifications?unread=true`` and ``GET /api/notifications/unread-count`` on the notifier."""

    def __init__(self, base_url: str, *, client: httpx.AsyncClient | None = None) -> None:
        self._client = client or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=5.0)
        self._owns_client = client is None

    async def fetch(self, user_id: str, token: str) -> Backlog:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            items_resp = await self._client.get(
                "/api/notifications", params={"unread": "true"}, headers=headers
            )
            count_resp = await self._client.get("/api/notifications/unread-count", headers=headers)
        except httpx.HTTPError as exc:
            raise BacklogUnavailable(type(exc).__name__) from None
        for resp in (items_resp, count_resp):
            if resp.status_code == 401:
                raise BacklogRefused("notifier refused the token")
            if resp.status_code != 200:
                raise BacklogUnavailable(f"notifier answered {resp.status_code}")
        try:
            items_doc = items_resp.json()
            count_doc = count_resp.json()
        except ValueError:
            raise BacklogUnavailable("notifier answered non-JSON") from None
        items = items_doc.get("items", []) if isinstance(items_doc, dict) else items_doc
        if not isinstance(items, list):
            raise BacklogUnavailable("notifier answered an unexpected body")
        if isinstance(count_doc, dict):
            count: Any = count_doc.get("unread_count", count_doc.get("count", len(items)))
        else:
            count = count_doc
        try:
            unread = int(count)
        except (TypeError, ValueError):
            unread = len(items)
        items = sorted(
            (i for i in items if isinstance(i, dict)),
            key=lambda i: str(i.get("created_at", "")),
            reverse=True,
        )
        return Backlog(unread_count=unread, items=items)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
