"""Graceful shutdown flushes the relay: events committed just before the stop still go out."""

from __future__ import annotations

from boardcast_testkit import unique
from tasks_api import Settings


async def test_shutdown_publishes_what_is_pending(sqlite_url, harness):
    settings = Settings(
        env="dev",
        database_url=sqlite_url,
        exchange=unique("ex"),
        migrate_on_start=False,
        relay_poll_seconds=60,  # no poll in this test: only the shutdown flush can publish
        argon2_time_cost=1,
        argon2_memory_kib=64,
    )
    async with harness(settings) as h:
        relay = h.app.state.services.relay
        relay.wake = lambda **_: None  # commits no longer wake it either
        owner = await h.api.user()
        project = await h.api.project(owner)
        for _ in range(3):
            await h.api.task(owner, project)
        assert h.recorder.of_project(project["id"]) == []
        recorder = h.recorder
    # The lifespan has ended: the relay flushed on its way out, before the broker stopped.
    assert [e.seq for e in recorder.of_project(project["id"])] == [1, 2, 3]
