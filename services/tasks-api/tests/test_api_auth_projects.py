"""Accounts, tokens, projects and members over the API: status codes of SPEC §3 and the member events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from boardcast_testkit import eventually


async def test_register_login_me_refresh(h):
    c = h.client
    r = await c.post(
        "/api/auth/register", json={"email": "Ann@Example.com", "name": "Ann", "password": "pw-12345678"}
    )
    assert r.status_code == 201
    assert r.json()["email"] == "ann@example.com" and r.json()["is_admin"] is False
    assert set(r.json()) == {"id", "email", "name", "is_admin"}
    r = await c.post(
        "/api/auth/register", json={"email": "ann@example.com", "name": "A", "password": "pw-12345678"}
    )
    assert r.status_code == 409
    assert (
        await c.post("/api/auth/login", json={"email": "ann@example.com", "password": "wrong-pass"})
    ).status_code == 401
    assert (
        await c.post("/api/auth/login", json={"email": "nobody@x.io", "password": "whatever1"})
    ).status_code == 401
    r = await c.post("/api/auth/login", json={"email": "ann@example.com", "password": "pw-12345678"})
    token = r.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == h.settings.token_ttl_seconds
    claims = jwt.decode(token["access_token"], h.settings.jwt_secret, algorithms=["HS256"])
    assert {"sub", "exp", "iat", "name"} <= set(claims) and claims["name"] == "Ann"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await c.get("/api/me", headers=headers)).json()["name"] == "Ann"
    r = await c.post("/api/auth/refresh", headers=headers)
    assert r.status_code == 200 and r.json()["access_token"]


async def test_missing_bad_and_expired_tokens_are_401(h):
    c = h.client
    assert (await c.get("/api/me")).status_code == 401
    assert (await c.get("/api/me", headers={"Authorization": "Bearer nope"})).status_code == 401
    user = await h.api.user()
    past = datetime.now(UTC) - timedelta(hours=2)
    expired = jwt.encode(
        {"sub": user["id"], "iat": past, "exp": past + timedelta(minutes=1), "name": "x"},
        h.settings.jwt_secret,
    )
    r = await c.get("/api/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["detail"] == "token expired"
    assert (
        await c.post("/api/auth/refresh", headers={"Authorization": f"Bearer {expired}"})
    ).status_code == 401
    forged = jwt.encode(
        {"sub": user["id"], "iat": datetime.now(UTC), "exp": datetime.now(UTC) + timedelta(hours=1)}, "x" * 40
    )
    assert (await c.get("/api/me", headers={"Authorization": f"Bearer {forged}"})).status_code == 401


async def test_users_search(h):
    a = await h.api.user("zed-searchable")
    r = await h.client.get("/api/users", params={"q": "zed-search"}, headers=a["headers"])
    assert [u["id"] for u in r.json()] == [a["id"]]
    assert set(r.json()[0]) == {"id", "name", "email"}


async def test_projects_members_roles_and_events(h):
    c, api = h.client, h.api
    owner, ed, viewer, stranger = await api.user(), await api.user(), await api.user(), await api.user()
    p = await api.project(owner)
    assert p["role"] == "owner" and p["seq"] == 0
    pid = p["id"]
    await api.add(owner, p, ed, "editor")
    await api.add(owner, p, viewer, "viewer")
    assert (await c.get(f"/api/projects/{pid}", headers=stranger["headers"])).status_code == 404
    r = await c.post(
        f"/api/projects/{pid}/members",
        json={"user_id": stranger["id"], "role": "viewer"},
        headers=ed["headers"],
    )
    assert r.status_code == 403
    r = await c.post(
        f"/api/projects/{pid}/members", json={"user_id": ed["id"], "role": "viewer"}, headers=owner["headers"]
    )
    assert r.status_code == 409
    r = await c.get(f"/api/projects/{pid}/members", headers=viewer["headers"])
    assert {m["user_id"]: m["role"] for m in r.json()} == {
        owner["id"]: "owner",
        ed["id"]: "editor",
        viewer["id"]: "viewer",
    }
    r = await c.patch(
        f"/api/projects/{pid}/members/{ed['id']}", json={"role": "owner"}, headers=owner["headers"]
    )
    assert r.status_code == 200 and r.json()["role"] == "owner"
    r = await c.delete(f"/api/projects/{pid}/members/{viewer['id']}", headers=owner["headers"])
    assert r.status_code == 204
    # Two owners: one may step down; the last one may not.
    assert (
        await c.patch(
            f"/api/projects/{pid}/members/{owner['id']}", json={"role": "editor"}, headers=ed["headers"]
        )
    ).status_code == 200
    assert (
        await c.patch(
            f"/api/projects/{pid}/members/{ed['id']}", json={"role": "editor"}, headers=ed["headers"]
        )
    ).status_code == 409
    assert (
        await c.delete(f"/api/projects/{pid}/members/{ed['id']}", headers=ed["headers"])
    ).status_code == 409
    r = await c.get(f"/api/projects/{pid}", headers=ed["headers"])
    assert r.json()["seq"] == 5 and r.json()["role"] == "owner"
    listed = await c.get("/api/projects", headers=ed["headers"])
    assert [x["id"] for x in listed.json()] == [pid]

    async def delivered() -> bool:
        return len(h.recorder.of_project(pid)) == 5

    await eventually(delivered)
    events = h.recorder.of_project(pid)
    assert [e.type for e in events] == [
        "member_added",
        "member_added",
        "member_role_changed",
        "member_removed",
        "member_role_changed",
    ]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[2].data.previous_role == "editor" and events[2].data.role == "owner"
    assert str(events[3].data.user_id) == viewer["id"]


async def test_admin_endpoint_audit_and_event(h, promote):
    c, api = h.client, h.api
    admin, other = await api.user(), await api.user()
    assert (
        await c.patch(f"/api/users/{other['id']}/admin", json={"is_admin": True}, headers=other["headers"])
    ).status_code == 403
    assert (await c.get("/api/audit", headers=other["headers"])).status_code == 403
    await promote(h, admin)
    r = await c.patch(f"/api/users/{other['id']}/admin", json={"is_admin": True}, headers=admin["headers"])
    assert r.status_code == 200 and r.json()["is_admin"] is True
    r = await c.get("/api/audit", params={"entity": "user"}, headers=admin["headers"])
    change = [e for e in r.json() if e["action"] == "user.admin_change"]
    assert change and change[0]["sensitivity"] == "critical" and change[0]["entity_id"] == other["id"]
    assert change[0]["before"] == {"is_admin": False} and change[0]["after"] == {"is_admin": True}

    async def got() -> list:
        return [
            e for e in h.recorder.events if e.type == "admin_changed" and str(e.data.user_id) == other["id"]
        ]

    (event,) = await eventually(got)
    assert {str(i) for i in event.data.admin_ids} == {admin["id"], other["id"]}
    assert str(event.actor_id) == admin["id"]
    # The last admin cannot remove themselves once alone.
    await c.patch(f"/api/users/{other['id']}/admin", json={"is_admin": False}, headers=admin["headers"])
    assert (
        await c.patch(f"/api/users/{admin['id']}/admin", json={"is_admin": False}, headers=admin["headers"])
    ).status_code == 409


async def test_config_health_and_metrics(h):
    assert (await h.client.get("/api/config")).json() == {"ws_url": None}
    assert (await h.client.get("/healthz")).status_code == 200
    r = await h.client.get("/readyz")
    assert r.status_code == 200, r.text
    owner = await h.api.user()
    await h.api.project(owner)
    r = await h.client.get("/metrics")
    assert "boardcast_outbox_backlog" in r.text and "boardcast_http_request_duration_seconds" in r.text
    assert 'route="/api/projects"' in r.text
    assert r.headers.get("x-request-id")
