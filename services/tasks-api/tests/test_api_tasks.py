"""Tasks over the API: every change emits exactly its SPEC §4 event with contiguous seq; the status codes."""

from __future__ import annotations

from boardcast_testkit import eventually


async def _events(h, pid, n):
    async def enough() -> bool:
        return len(h.recorder.of_project(pid)) >= n

    await eventually(enough, what=f"{n} events of {pid}")
    return h.recorder.of_project(pid)


async def test_every_task_endpoint_emits_its_event_in_seq_order(any_h):
    h = any_h
    c, api = h.client, h.api
    owner, ed = await api.user(), await api.user()
    p = await api.project(owner)
    pid, hd = p["id"], owner["headers"]
    await api.add(owner, p, ed, "editor")  # seq 1
    t = await api.task(owner, p, estimate_hours=3, due_date="2030-01-02")  # 2
    assert t["subtask_count"] == 0 and t["is_deleted"] is False and t["created_by"] == owner["id"]
    sub = await api.task(owner, p, parent_id=t["id"])  # 3
    r = await c.patch(
        f"/api/tasks/{t['id']}", json={"title": "renamed", "estimate_hours": 5}, headers=hd
    )  # 4
    assert r.status_code == 200 and r.json()["version"] == 2 and r.headers["etag"] == '"2"'
    r = await c.patch(
        f"/api/tasks/{t['id']}/status", json={"status": "blocked", "position": 1.5}, headers=hd
    )  # 5
    moved = r.json()
    assert moved["status"] == "blocked" and moved["blocked_since"] and moved["position"] == 1.5
    r = await c.patch(f"/api/tasks/{t['id']}/status", json={"status": "done"}, headers=hd)  # 6
    assert r.json()["blocked_since"] is None and r.json()["completed_at"]
    r = await c.patch(f"/api/tasks/{t['id']}/assign", json={"assignee_id": ed["id"]}, headers=hd)  # 7
    assert r.json()["assignee_id"] == ed["id"]
    r = await c.post(f"/api/tasks/{t['id']}/comments", json={"body": f"hi @{ed['name']}"}, headers=hd)  # 8
    comment = r.json()
    assert r.status_code == 201 and comment["mentions"] == [ed["id"]]
    r = await c.patch(f"/api/comments/{comment['id']}", json={"body": "edited"}, headers=hd)  # 9
    assert r.json()["body"] == "edited" and r.json()["mentions"] == []
    assert (await c.delete(f"/api/comments/{comment['id']}", headers=hd)).status_code == 204  # 10
    assert (await c.delete(f"/api/tasks/{t['id']}", headers=hd)).status_code == 204  # 11
    r = await c.post(f"/api/tasks/{t['id']}/restore", headers=hd)  # 12
    assert r.status_code == 200 and r.json()["subtask_count"] == 1

    events = await _events(h, pid, 12)
    assert [e.type for e in events] == [
        "member_added",
        "task_created",
        "task_created",
        "task_updated",
        "task_status_changed",
        "task_status_changed",
        "task_assigned",
        "comment_created",
        "comment_updated",
        "comment_deleted",
        "task_deleted",
        "task_restored",
    ]
    assert [e.seq for e in events] == list(range(1, 13))
    assert all(str(e.actor_id) == owner["id"] for e in events)
    upd = events[3].data
    assert sorted(upd.changed) == ["estimate_hours", "title"] and upd.task.title == "renamed"
    assert events[4].data.previous_status == "todo" and events[5].data.previous_status == "blocked"
    assert events[6].data.previous_assignee_id is None and str(events[6].data.task.assignee_id) == ed["id"]
    deleted = events[10].data
    assert [str(i) for i in deleted.deleted_ids] == [t["id"], sub["id"]]
    assert [str(a) for a in deleted.assignee_ids] == [ed["id"]]
    restored = events[11].data
    assert {str(i) for i in restored.restored_ids} == {t["id"], sub["id"]}
    assert [str(a) for a in restored.assignee_ids] == [ed["id"]]
    assert events[1].data.task.model_dump(mode="json")["id"] == t["id"]
    r = await c.get(f"/api/projects/{pid}", headers=hd)
    assert r.json()["seq"] == 12


async def test_if_match_conflict_returns_current_task(h):
    owner = await h.api.user()
    p = await h.api.project(owner)
    t = await h.api.task(owner, p)
    hd = owner["headers"]
    r = await h.client.patch(f"/api/tasks/{t['id']}", json={"title": "a"}, headers={**hd, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = await h.client.patch(f"/api/tasks/{t['id']}", json={"title": "b"}, headers={**hd, "If-Match": "1"})
    assert r.status_code == 409
    assert r.json()["detail"].startswith("version conflict") and r.json()["task"]["title"] == "a"
    assert r.json()["task"]["version"] == 2
    r = await h.client.patch(
        f"/api/tasks/{t['id']}/status", json={"status": "done"}, headers={**hd, "If-Match": "1"}
    )
    assert r.status_code == 409
    r = await h.client.patch(
        f"/api/tasks/{t['id']}/assign", json={"assignee_id": None}, headers={**hd, "If-Match": "x"}
    )
    assert r.status_code == 422


async def test_task_rules_and_status_codes(h):
    c, api = h.client, h.api
    owner, viewer, stranger = await api.user(), await api.user(), await api.user()
    p = await api.project(owner)
    other = await api.project(owner)
    await api.add(owner, p, viewer, "viewer")
    t = await api.task(owner, p)
    hd = owner["headers"]
    # PATCH refuses the fields that have their own endpoints.
    assert (await c.patch(f"/api/tasks/{t['id']}", json={"status": "done"}, headers=hd)).status_code == 422
    assert (await c.patch(f"/api/tasks/{t['id']}", json={"assignee_id": None}, headers=hd)).status_code == 422
    assert (await c.patch(f"/api/tasks/{t['id']}", json={"title": None}, headers=hd)).status_code == 422
    # Viewers read but change nothing; strangers see nothing.
    assert (await c.get(f"/api/tasks/{t['id']}", headers=viewer["headers"])).status_code == 200
    assert (
        await c.patch(f"/api/tasks/{t['id']}", json={"title": "x"}, headers=viewer["headers"])
    ).status_code == 403
    assert (
        await c.post(f"/api/projects/{p['id']}/tasks", json={"title": "x"}, headers=viewer["headers"])
    ).status_code == 403
    assert (await c.get(f"/api/tasks/{t['id']}", headers=stranger["headers"])).status_code == 404
    assert (await c.get(f"/api/projects/{p['id']}/tasks", headers=stranger["headers"])).status_code == 404
    # Assignee must be a member; parent must be a live task of the same project.
    r = await c.patch(f"/api/tasks/{t['id']}/assign", json={"assignee_id": stranger["id"]}, headers=hd)
    assert r.status_code == 422
    foreign = await api.task(owner, other)
    r = await c.post(
        f"/api/projects/{p['id']}/tasks", json={"title": "x", "parent_id": foreign["id"]}, headers=hd
    )
    assert r.status_code == 422
    child = await api.task(owner, p, parent_id=t["id"])
    r = await c.patch(f"/api/tasks/{t['id']}", json={"parent_id": child["id"]}, headers=hd)
    assert r.status_code == 422  # a cycle
    # include_deleted is for admins only.
    assert (await c.get(f"/api/projects/{p['id']}/tasks?include_deleted=true", headers=hd)).status_code == 403
    assert (await c.get(f"/api/tasks/{t['id']}?include_deleted=true", headers=hd)).status_code == 403
    # Restoring a live task is a conflict.
    assert (await c.post(f"/api/tasks/{t['id']}/restore", headers=hd)).status_code == 409
    # Ordered by status then position.
    await c.patch(f"/api/tasks/{child['id']}/status", json={"status": "in_progress"}, headers=hd)
    t2 = await api.task(owner, p, position=-5)
    listed = (await c.get(f"/api/projects/{p['id']}/tasks", headers=hd)).json()
    assert [x["id"] for x in listed] == [t2["id"], t["id"], child["id"]]
    assert listed[1]["subtask_count"] == 1


async def test_unchanged_writes_emit_nothing(h):
    owner = await h.api.user()
    p = await h.api.project(owner)
    t = await h.api.task(owner, p, title="same")
    hd = owner["headers"]
    r = await h.client.patch(f"/api/tasks/{t['id']}", json={"title": "same"}, headers=hd)
    assert r.json()["version"] == 1
    r = await h.client.patch(f"/api/tasks/{t['id']}/assign", json={"assignee_id": None}, headers=hd)
    assert r.json()["version"] == 1
    (await h.api.task(owner, p))  # a later event proves the earlier ones had their chance to arrive
    events = await _events(h, p["id"], 2)
    assert [e.type for e in events] == ["task_created", "task_created"]


async def test_comment_permissions(h):
    c, api = h.client, h.api
    owner, ed, viewer = await api.user(), await api.user(), await api.user()
    p = await api.project(owner)
    await api.add(owner, p, ed, "editor")
    await api.add(owner, p, viewer, "viewer")
    t = await api.task(owner, p)
    r = await c.post(f"/api/tasks/{t['id']}/comments", json={"body": "by ed"}, headers=ed["headers"])
    cid = r.json()["id"]
    assert (
        await c.post(f"/api/tasks/{t['id']}/comments", json={"body": "x"}, headers=viewer["headers"])
    ).status_code == 403
    assert (
        await c.patch(f"/api/comments/{cid}", json={"body": "x"}, headers=owner["headers"])
    ).status_code == 403
    assert len((await c.get(f"/api/tasks/{t['id']}/comments", headers=viewer["headers"])).json()) == 1
    assert (await c.delete(f"/api/comments/{cid}", headers=viewer["headers"])).status_code == 403
    assert (await c.delete(f"/api/comments/{cid}", headers=owner["headers"])).status_code == 204


async def test_a_status_change_appends_to_the_new_column_and_is_stored(any_h):
    """The hot path (one query for task, role and the column's last position; one prebuilt UPDATE)."""
    h = any_h
    c, api = h.client, h.api
    owner = await api.user()
    p = await api.project(owner)
    hd = owner["headers"]
    first = await api.task(owner, p, status="in_progress", position=7.0)
    moving = await api.task(owner, p)
    r = await c.patch(f"/api/tasks/{moving['id']}/status", json={"status": "in_progress"}, headers=hd)
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["position"] > first["position"] and moved["version"] == moving["version"] + 1
    r = await c.patch(f"/api/tasks/{moving['id']}/status", json={"status": "done"}, headers=hd)
    done = r.json()
    assert done["completed_at"] and r.headers["etag"] == f'"{done["version"]}"'
    # What the response said is what the database holds (the change was written, not only returned).
    stored = (await c.get(f"/api/tasks/{moving['id']}", headers=hd)).json()
    for field in ("status", "position", "version", "completed_at", "updated_at", "blocked_since"):
        assert stored[field] == done[field], field
    # The old version is now a conflict, with the stored task in the body.
    r = await c.patch(
        f"/api/tasks/{moving['id']}/status",
        json={"status": "todo"},
        headers={**hd, "If-Match": f'"{moved["version"]}"'},
    )
    assert r.status_code == 409 and r.json()["task"]["version"] == done["version"]
