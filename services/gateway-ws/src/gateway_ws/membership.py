"""Is this user a member of this project? Asked of tasks-api with the user's own token, briefly cached."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import httpx


@dataclass(frozen=True, slots=True)
class Membership:
    role: str
    seq: int  # the project's seq when membership was checked (a later member_removed beats a cached answer)


class NotMember(Exception):
    """No such project, or the user is not a member of it: close 4403."""


class BadToken(Exception):
    """tasks-api refused the token: close 4401."""


class MembershipUnavailable(Exception):
    """tasks-api could not answer: close 1013 (try again later)."""


class MembershipChecker(Protocol):
    async def check(self, project_id: str, user_id: str, token: str) -> Membership: ...

    def invalidate(self, project_id: str, user_id: str) -> None: ...


class HttpMembership:
    """``GET {tasks_api}/api/projects/{id}``: 200 member (role, seq), 404 not a member, 401 bad token."""

    def __init__(
        self,
        base_url: str,
        *,
        cache_s: float = 5.0,
        client: httpx.AsyncClient | None = None,
        max_cache: int = 50_000,
    ) -> None:
        self._client = client or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=5.0)
        self._owns_client = client is None
        self._cache_s = cache_s
        self._max_cache = max_cache
        self._cache: dict[tuple[str, str], tuple[float, Membership]] = {}

    async def check(self, project_id: str, user_id: str, token: str) -> Membership:
        key = (project_id, user_id)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            response = await self._client.get(
                f"/api/projects/{project_id}", headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise MembershipUnavailable(type(exc).__name__) from None
        if response.status_code == 401:
            raise BadToken("tasks-api refused the token")
        if response.status_code in (403, 404, 422):
            raise NotMember(project_id)
        if response.status_code != 200:
            raise MembershipUnavailable(f"tasks-api answered {response.status_code}")
        try:
            body = response.json()
            result = Membership(role=str(body.get("role") or "viewer"), seq=int(body.get("seq") or 0))
        except (ValueError, TypeError, AttributeError):
            raise MembershipUnavailable("tasks-api answered an unexpected body") from None
        if self._cache_s > 0:
            if len(self._cache) >= self._max_cache:
                self._cache.clear()
            self._cache[key] = (now + self._cache_s, result)
        return result

    def invalidate(self, project_id: str, user_id: str) -> None:
        self._cache.pop((project_id, user_id), None)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
