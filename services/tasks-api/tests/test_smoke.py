"""A first walk through the API on SQLite and the in-process bus."""

from __future__ import annotations

from boardcast_testkit import eventually


async def test_create_task_emits_event(h):
    owner = await h.api.user()
    project = await h.api.project(owner)
    task = await h.api.task(owner, project)
    assert task["version"] == 1 and task["status"] == "todo"

    async def got() -> bool:
        return h.recorder.types(project["id"]) == ["task_created"]

    await eventually(got, what="task_created delivered")
    r = await h.client.get(f"/api/projects/{project['id']}", headers=owner["headers"])
    assert r.json()["seq"] == 1
