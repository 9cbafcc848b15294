"""Soft delete and restore on a three-level tree, with one child deleted on its own beforehand."""

from __future__ import annotations

from boardcast_testkit import eventually


async def test_delete_cascades_to_live_descendants_and_restore_brings_back_exactly_those(any_h, promote):
    h = any_h
    c, api = h.client, h.api
    owner = await api.user()
    await promote(h, owner)
    p = await api.project(owner)
    hd = owner["headers"]
    root = await api.task(owner, p, title="root")
    a = await api.task(owner, p, title="a", parent_id=root["id"], assignee_id=owner["id"])
    b = await api.task(owner, p, title="b", parent_id=root["id"])
    a1 = await api.task(owner, p, title="a1", parent_id=a["id"])
    b1 = await api.task(owner, p, title="b1", parent_id=b["id"])

    # b (with b1) is deleted on its own first.
    assert (await c.delete(f"/api/tasks/{b['id']}", headers=hd)).status_code == 204
    assert (await c.get(f"/api/tasks/{root['id']}", headers=hd)).json()["subtask_count"] == 1
    assert (await c.delete(f"/api/tasks/{root['id']}", headers=hd)).status_code == 204

    for t in (root, a, a1, b, b1):
        assert (await c.get(f"/api/tasks/{t['id']}", headers=hd)).status_code == 404
    assert (await c.get(f"/api/projects/{p['id']}/tasks", headers=hd)).json() == []
    everything = (await c.get(f"/api/projects/{p['id']}/tasks?include_deleted=true", headers=hd)).json()
    by_id = {t["id"]: t for t in everything}
    assert all(t["is_deleted"] and t["deleted_by"] == owner["id"] for t in everything)
    assert by_id[root["id"]]["deleted_at"] == by_id[a1["id"]]["deleted_at"] != by_id[b1["id"]]["deleted_at"]
    assert (await c.delete(f"/api/tasks/{root['id']}", headers=hd)).status_code == 404
    got = await c.get(f"/api/tasks/{a1['id']}", params={"include_deleted": "true"}, headers=hd)
    assert got.status_code == 200 and got.json()["is_deleted"] is True

    # A task whose parent is still deleted cannot come back.
    assert (await c.post(f"/api/tasks/{a1['id']}/restore", headers=hd)).status_code == 409
    assert (await c.post(f"/api/tasks/{b['id']}/restore", headers=hd)).status_code == 409

    r = await c.post(f"/api/tasks/{root['id']}/restore", headers=hd)
    assert r.status_code == 200 and r.json()["is_deleted"] is False and r.json()["subtask_count"] == 1
    live = {t["id"] for t in (await c.get(f"/api/projects/{p['id']}/tasks", headers=hd)).json()}
    assert live == {root["id"], a["id"], a1["id"]}  # b and b1 stay deleted: they went on their own

    r = await c.post(f"/api/tasks/{b['id']}/restore", headers=hd)
    assert r.status_code == 200
    live = {t["id"] for t in (await c.get(f"/api/projects/{p['id']}/tasks", headers=hd)).json()}
    assert live == {root["id"], a["id"], a1["id"], b["id"], b1["id"]}
    got = (await c.get(f"/api/tasks/{b1['id']}", headers=hd)).json()
    assert got["deleted_at"] is None and got["deleted_by"] is None and got["version"] == 3

    async def all_events() -> list:
        events = h.recorder.of_project(p["id"])
        return events if len(events) == 9 else []

    events = await eventually(all_events)
    deletes = [e.data for e in events if e.type == "task_deleted"]
    assert [sorted(map(str, d.deleted_ids)) for d in deletes] == [
        sorted([b["id"], b1["id"]]),
        sorted([root["id"], a["id"], a1["id"]]),
    ]
    assert [str(i) for i in deletes[1].assignee_ids] == [owner["id"]]
    restores = [e.data for e in events if e.type == "task_restored"]
    assert sorted(map(str, restores[0].restored_ids)) == sorted([root["id"], a["id"], a1["id"]])
    assert sorted(map(str, restores[1].restored_ids)) == sorted([b["id"], b1["id"]])

    audit = (await c.get("/api/audit", params={"entity": "task"}, headers=hd)).json()
    assert [e["action"] for e in audit] == ["task.restore", "task.restore", "task.delete", "task.delete"]
