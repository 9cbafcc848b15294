"""The tasks-api membership check and the notifier backlog over HTTP (httpx MockTransport stands in)."""

from __future__ import annotations

import httpx
import pytest
from gateway_ws.backlog import BacklogRefused, BacklogUnavailable, HttpBacklog
from gateway_ws.membership import BadToken, HttpMembership, MembershipUnavailable, NotMember


def _membership(handler, cache_s: float = 5.0) -> HttpMembership:  # type: ignore[no-untyped-def]
    client = httpx.AsyncClient(base_url="http://tasks", transport=httpx.MockTransport(handler))
    return HttpMembership("http://tasks", cache_s=cache_s, client=client)


async def test_membership_maps_status_codes_and_sends_the_users_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        pid = request.url.path.rsplit("/", 1)[-1]
        return {
            "p200": httpx.Response(200, json={"id": "p200", "role": "viewer", "seq": 42}),
            "p404": httpx.Response(404, json={"detail": "not found"}),
            "p401": httpx.Response(401, json={"detail": "bad token"}),
            "p500": httpx.Response(500),
            "pjunk": httpx.Response(200, text="<html>"),
        }[pid]

    m = _membership(handler)
    result = await m.check("p200", "u1", "tok-1")
    assert (result.role, result.seq) == ("viewer", 42)
    assert seen[0].headers["Authorization"] == "Bearer tok-1"
    assert seen[0].url.path == "/api/projects/p200"
    with pytest.raises(NotMember):
        await m.check("p404", "u1", "t")
    with pytest.raises(BadToken):
        await m.check("p401", "u1", "t")
    for broken in ("p500", "pjunk"):
        with pytest.raises(MembershipUnavailable):
            await m.check(broken, "u1", "t")


async def test_membership_cache_and_invalidate() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json={"role": "editor", "seq": 1})

    m = _membership(handler)
    await m.check("p", "u", "t")
    await m.check("p", "u", "t")
    assert calls == 1
    m.invalidate("p", "u")
    await m.check("p", "u", "t")
    assert calls == 2
    uncached = _membership(handler, cache_s=0)
    await uncached.check("p", "u", "t")
    await uncached.check("p", "u", "t")
    assert calls == 4


async def test_membership_unreachable_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(MembershipUnavailable):
        await _membership(handler).check("p", "u", "t")


def _backlog(handler) -> HttpBacklog:  # type: ignore[no-untyped-def]
    client = httpx.AsyncClient(base_url="http://notifier", transport=httpx.MockTransport(handler))
    return HttpBacklog("http://notifier", client=client)


async def test_backlog_newest_first_with_count() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer tok"
        if request.url.path == "/api/notifications":
            assert request.url.params["unread"] == "true"
            return httpx.Response(
                200, json=[{"id": "a", "created_at": "2026-01-01"}, {"id": "b", "created_at": "2026-02-01"}]
            )
        return httpx.Response(200, json={"unread_count": 7})

    backlog = await _backlog(handler).fetch("u", "tok")
    assert backlog.unread_count == 7
    assert [i["id"] for i in backlog.items] == ["b", "a"]


async def test_backlog_errors() -> None:
    with pytest.raises(BacklogRefused):
        await _backlog(lambda r: httpx.Response(401)).fetch("u", "t")
    with pytest.raises(BacklogUnavailable):
        await _backlog(lambda r: httpx.Response(503)).fetch("u", "t")
    with pytest.raises(BacklogUnavailable):
        await _backlog(lambda r: httpx.Response(200, text="nope")).fetch("u", "t")
