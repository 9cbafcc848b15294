"""Weekly report, workload and heatmap: figures, X-Cache, exact invalidation, and Redis down."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from boardcast_contracts.keys import affected_cache_keys, heatmap_key, workload_key
from boardcast_testkit import eventually

TODAY = datetime.now(UTC).date()
MONDAY = TODAY - timedelta(days=TODAY.weekday())


async def _invalidate_like_the_invalidator(h, pid: str, seq: int) -> None:
    """Delete the keys event ``seq`` of the project touches, by the rule the cache-invalidator uses."""

    async def delivered() -> list:
        return [e for e in h.recorder.of_project(pid) if e.seq == seq]

    for event in await eventually(delivered):
        keys = affected_cache_keys(event)
        if keys:
            await h.redis.delete(*keys)


async def test_workload_is_cached_and_invalidated_exactly(any_h):
    h = any_h
    c, api = h.client, h.api
    owner, ed = await api.user("owner"), await api.user("ed")
    p = await api.project(owner)
    pid, hd = p["id"], owner["headers"]
    await api.add(owner, p, ed, "editor")
    await api.task(owner, p, assignee_id=ed["id"], estimate_hours=10, due_date=str(TODAY - timedelta(days=1)))
    await api.task(owner, p, assignee_id=ed["id"], estimate_hours=6)
    await api.task(
        owner, p, assignee_id=ed["id"], estimate_hours=99, due_date=str(MONDAY + timedelta(days=30))
    )
    done = await api.task(owner, p, assignee_id=owner["id"], estimate_hours=4)
    await c.patch(f"/api/tasks/{done['id']}/status", json={"status": "done"}, headers=hd)

    r = await c.get("/api/workload", params={"project_id": pid}, headers=hd)
    assert r.status_code == 200 and r.headers["x-cache"] == "miss"
    rows = {row["user_id"]: row for row in r.json()}
    assert set(rows) == {owner["id"], ed["id"]}
    assert rows[ed["id"]] == {
        "user_id": ed["id"],
        "name": "ed",
        "open_tasks": 2,
        "estimate_hours": 16.0,
        "overdue": 1,
        "capacity_hours": 40.0,
        "load_percent": 40.0,
    }
    assert rows[owner["id"]]["open_tasks"] == 0
    r = await c.get("/api/workload", params={"project_id": pid}, headers=hd)
    assert r.headers["x-cache"] == "hit" and {x["user_id"]: x for x in r.json()} == rows
    assert await h.redis.exists(workload_key(_uuid(pid), _uuid(ed["id"])))

    # A change for ed: after invalidation by the contracts' rule the new figure shows, owner's entry stays.
    await api.task(owner, p, assignee_id=ed["id"], estimate_hours=4)
    await _invalidate_like_the_invalidator(h, pid, 7)
    assert await h.redis.exists(workload_key(_uuid(pid), _uuid(owner["id"])))
    r = await c.get("/api/workload", params={"project_id": pid}, headers=hd)
    assert r.headers["x-cache"] == "miss"
    assert {x["user_id"]: x for x in r.json()}[ed["id"]]["estimate_hours"] == 20.0

    # The caller's own row across projects.
    r = await c.get("/api/workload", headers=ed["headers"])
    assert r.headers["x-cache"] == "miss" and len(r.json()) == 1 and r.json()[0]["open_tasks"] == 3
    r = await c.get("/api/workload", headers=ed["headers"])
    assert r.headers["x-cache"] == "hit"
    # Non-members get 404.
    stranger = await api.user()
    assert (
        await c.get("/api/workload", params={"project_id": pid}, headers=stranger["headers"])
    ).status_code == 404


async def test_heatmap_rows_for_every_member(any_h):
    h = any_h
    c, api = h.client, h.api
    owner, ed = await api.user("owner"), await api.user("ed")
    p = await api.project(owner)
    pid, hd = p["id"], owner["headers"]
    await api.add(owner, p, ed, "viewer")
    d0 = MONDAY + timedelta(days=1)
    await api.task(owner, p, assignee_id=owner["id"], estimate_hours=3, due_date=str(d0))
    await api.task(owner, p, assignee_id=owner["id"], estimate_hours=2.5, due_date=str(d0))
    await api.task(owner, p, assignee_id=owner["id"], estimate_hours=8, due_date=str(d0 + timedelta(days=2)))
    params = {"from": str(MONDAY), "to": str(MONDAY + timedelta(days=6))}
    r = await c.get(f"/api/projects/{pid}/heatmap", params=params, headers=hd)
    assert r.status_code == 200 and r.headers["x-cache"] == "miss"
    body = r.json()
    assert body["days"][0] == str(MONDAY) and len(body["days"]) == 7
    rows = {row["user_id"]: row for row in body["rows"]}
    assert rows[owner["id"]]["hours"] == [0, 5.5, 0, 8, 0, 0, 0]
    assert rows[ed["id"]]["hours"] == [0] * 7
    r = await c.get(f"/api/projects/{pid}/heatmap", params=params, headers=hd)
    assert r.headers["x-cache"] == "hit" and r.json() == body
    assert await h.redis.exists(heatmap_key(_uuid(pid), _uuid(owner["id"])))
    assert 0 < await h.redis.ttl(heatmap_key(_uuid(pid), _uuid(owner["id"]))) <= h.settings.cache_ttl_seconds
    r = await c.get(
        f"/api/projects/{pid}/heatmap", params={"from": "2026-01-10", "to": "2026-01-01"}, headers=hd
    )
    assert r.status_code == 422


async def test_endpoints_answer_from_the_database_when_redis_is_down(h_redis_down):
    h = h_redis_down
    owner = await h.api.user()
    p = await h.api.project(owner)
    await h.api.task(owner, p, assignee_id=owner["id"], estimate_hours=2)
    r = await h.client.get("/api/workload", params={"project_id": p["id"]}, headers=owner["headers"])
    assert r.status_code == 200 and r.headers["x-cache"] == "miss" and r.json()[0]["estimate_hours"] == 2.0
    r = await h.client.get(f"/api/projects/{p['id']}/heatmap", headers=owner["headers"])
    assert r.status_code == 200 and r.headers["x-cache"] == "miss"
    r = await h.client.get("/readyz")
    assert r.status_code == 503 and r.json()["down"] == ["redis"]


async def test_weekly_report(any_h):
    h = any_h
    c, api = h.client, h.api
    owner = await api.user("reporter")
    p = await api.project(owner)
    hd = owner["headers"]
    done = await api.task(owner, p, assignee_id=owner["id"])
    await c.patch(f"/api/tasks/{done['id']}/status", json={"status": "done"}, headers=hd)
    blocked = await api.task(owner, p)
    await c.patch(
        f"/api/tasks/{blocked['id']}/status",
        json={"status": "blocked", "blocker_reason": "vendor"},
        headers=hd,
    )
    late = await api.task(owner, p, due_date=str(TODAY - timedelta(days=3)), status="in_progress")
    soon = await api.task(owner, p, due_date=str(MONDAY + timedelta(days=8)))
    await api.task(owner, p, due_date=str(MONDAY + timedelta(days=40)))  # in no section
    r = await c.get(f"/api/projects/{p['id']}/weekly-report", params={"week": str(TODAY)}, headers=hd)
    assert r.status_code == 200
    rep = r.json()
    assert rep["week_start"] == str(MONDAY)
    assert [t["id"] for t in rep["completed"]] == [done["id"]] and rep["completed"][0]["completed_at"]
    assert rep["completed"][0]["assignee_name"] == "reporter"
    assert [t["id"] for t in rep["blocked"]] == [blocked["id"]] and rep["blocked"][0][
        "blocker_reason"
    ] == "vendor"
    assert rep["blocked"][0]["blocked_since"]
    assert [t["id"] for t in rep["in_progress"]] == [late["id"]]
    assert [(t["id"], t["days_overdue"]) for t in rep["overdue"]] == [(late["id"], 3)]
    assert [t["id"] for t in rep["next_week"]] == [soon["id"]]
    last_week = await c.get(
        f"/api/projects/{p['id']}/weekly-report", params={"week": str(MONDAY - timedelta(days=7))}, headers=hd
    )
    assert last_week.json()["completed"] == []


def _uuid(value: str):
    import uuid

    return uuid.UUID(value)


def test_dates_module_is_sane():
    assert isinstance(TODAY, date)


async def test_tasks_api_drops_touched_entries_itself_even_without_the_broker(h):
    """The relay is off (as if RabbitMQ were down): the figure is still fresh after a change."""
    await h.app.state.services.relay.stop(0)
    h.app.state.services.relay = None
    owner = await h.api.user()
    p = await h.api.project(owner)
    t = await h.api.task(owner, p, assignee_id=owner["id"], estimate_hours=2)
    params = {"project_id": p["id"]}
    await h.client.get("/api/workload", params=params, headers=owner["headers"])
    r = await h.client.get("/api/workload", params=params, headers=owner["headers"])
    assert r.headers["x-cache"] == "hit" and r.json()[0]["estimate_hours"] == 2.0
    await h.client.patch(f"/api/tasks/{t['id']}", json={"estimate_hours": 7}, headers=owner["headers"])

    async def fresh() -> bool:
        r = await h.client.get("/api/workload", params=params, headers=owner["headers"])
        return r.json()[0]["estimate_hours"] == 7.0

    await eventually(fresh, timeout=1.0, what="new figure within 1 s of the commit")
    assert h.recorder.of_project(p["id"]) == []  # nothing went through the broker
