"""keys.affected_cache_keys: exactly the users an event touches, in its own project and nowhere else."""

from __future__ import annotations

import uuid

import pytest
from boardcast_contracts import EVENT_MODELS, AccountEvent, ProjectEvent, TaskStatus
from boardcast_contracts.keys import (
    CACHE_RELEVANT_FIELDS,
    affected_cache_keys,
    heatmap_key,
    user_channel,
    workload_key,
)
from boardcast_contracts.topology import CACHE_PROJECT_TYPES
from hypothesis import given, settings

from .strategies import event, events, task

A = uuid.uuid4()  # project
B = uuid.uuid4()  # another project


def user_keys(project_id: uuid.UUID, *users: uuid.UUID) -> set[str]:
    """Everything cached for these users that a change in this project can stale."""
    return {
        k
        for u in users
        for k in (workload_key(project_id, u), workload_key(None, u), heatmap_key(project_id, u))
    }


def test_key_scheme() -> None:
    u = uuid.uuid4()
    assert workload_key(A, u) == f"boardcast:cache:v1:workload:{A}:{u}"
    assert workload_key(None, u) == f"boardcast:cache:v1:workload:all:{u}"
    assert heatmap_key(A, u) == f"boardcast:cache:v1:heatmap:{A}:{u}"
    assert user_channel(u) == f"boardcast:notify:v1:user:{u}"


def test_assignment_touches_old_and_new_assignee() -> None:
    old, new = uuid.uuid4(), uuid.uuid4()
    ev = event("task_assigned", A, {"task": task(A, assignee_id=new), "previous_assignee_id": old})
    assert affected_cache_keys(ev) == user_keys(A, old, new)


@pytest.mark.parametrize(("old", "new"), [(True, False), (False, True)])
def test_assign_from_or_to_nobody(old: bool, new: bool) -> None:
    u = uuid.uuid4()
    data = {"task": task(A, assignee_id=u if new else None), "previous_assignee_id": u if old else None}
    assert affected_cache_keys(event("task_assigned", A, data)) == user_keys(A, u)


def test_delete_touches_every_assignee_in_the_cascade() -> None:
    cascade = [uuid.uuid4() for _ in range(3)]
    ids = [uuid.uuid4() for _ in range(4)]
    ev = event("task_deleted", A, {"task_id": ids[0], "deleted_ids": ids, "assignee_ids": cascade})
    assert affected_cache_keys(ev) == user_keys(A, *cascade)


def test_restore_touches_the_root_and_every_assignee_in_the_cascade() -> None:
    root_assignee = uuid.uuid4()
    cascade = [uuid.uuid4(), uuid.uuid4()]
    data = {
        "task": task(A, assignee_id=root_assignee),
        "restored_ids": [uuid.uuid4()],
        "assignee_ids": cascade,
    }
    assert affected_cache_keys(event("task_restored", A, data)) == user_keys(A, root_assignee, *cascade)


STATUSES = list(TaskStatus)


@pytest.mark.parametrize("previous", STATUSES)
@pytest.mark.parametrize("current", STATUSES)
def test_status_change_matters_only_to_or_from_done(previous: TaskStatus, current: TaskStatus) -> None:
    u = uuid.uuid4()
    data = {
        "task": task(A, status=current, assignee_id=u),
        "previous_status": previous,
        "previous_position": 0,
    }
    keys = affected_cache_keys(event("task_status_changed", A, data))
    crosses_done = (previous == TaskStatus.done) != (current == TaskStatus.done)
    assert keys == (user_keys(A, u) if crosses_done else set())


def test_status_change_of_an_unassigned_task_touches_nothing() -> None:
    data = {"task": task(A, status="done"), "previous_status": "todo", "previous_position": 0}
    assert affected_cache_keys(event("task_status_changed", A, data)) == set()


@pytest.mark.parametrize("field", sorted(CACHE_RELEVANT_FIELDS))
def test_update_of_a_figure_field_touches_the_assignee(field: str) -> None:
    u = uuid.uuid4()
    ev = event("task_updated", A, {"task": task(A, assignee_id=u), "changed": ["title", field]})
    assert affected_cache_keys(ev) == user_keys(A, u)


@pytest.mark.parametrize("changed", [[], ["title"], ["description", "priority", "blocker_reason"]])
def test_update_of_untouched_fields_touches_nothing(changed: list[str]) -> None:
    ev = event("task_updated", A, {"task": task(A, assignee_id=uuid.uuid4()), "changed": changed})
    assert affected_cache_keys(ev) == set()


def test_created_task_touches_its_assignee_only() -> None:
    u = uuid.uuid4()
    assert affected_cache_keys(event("task_created", A, {"task": task(A, assignee_id=u)})) == user_keys(A, u)
    assert affected_cache_keys(event("task_created", A, {"task": task(A)})) == set()


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("member_added", {"user_id": uuid.uuid4(), "role": "editor"}),
        ("member_removed", {"user_id": uuid.uuid4()}),
        ("member_role_changed", {"user_id": uuid.uuid4(), "role": "viewer", "previous_role": "editor"}),
        ("comment_deleted", {"comment_id": uuid.uuid4(), "task_id": uuid.uuid4()}),
    ],
)
def test_non_task_events_touch_nothing(event_type: str, data: dict[str, object]) -> None:
    assert affected_cache_keys(event(event_type, A, data)) == set()


@settings(max_examples=100, deadline=None)
@given(events)
def test_keys_only_ever_name_the_events_own_project(ev: ProjectEvent | AccountEvent) -> None:
    keys = affected_cache_keys(ev)
    if not isinstance(ev, ProjectEvent):
        assert keys == set()
        return
    for key in keys:
        scope = key.split(":")[4]
        assert scope in (str(ev.project_id), "all"), key
    # Every per-project key has its cross-project twin, and nothing else is named.
    users = {key.rsplit(":", 1)[1] for key in keys}
    assert keys == user_keys(ev.project_id, *(uuid.UUID(u) for u in users))


def test_a_change_in_project_a_never_names_project_b() -> None:
    u = uuid.uuid4()
    ev = event("task_assigned", A, {"task": task(B, assignee_id=u), "previous_assignee_id": None})
    keys = affected_cache_keys(ev)
    assert keys == user_keys(A, u)
    assert not any(str(B) in k for k in keys)


def test_cache_invalidator_binds_every_type_that_can_affect_keys() -> None:
    """topology.CACHE_PROJECT_TYPES must not miss a type affected_cache_keys answers for."""
    u = uuid.uuid4()
    samples = {
        "task_created": {"task": task(A, assignee_id=u)},
        "task_updated": {"task": task(A, assignee_id=u), "changed": ["estimate_hours"]},
        "task_status_changed": {
            "task": task(A, assignee_id=u, status="done"),
            "previous_status": "todo",
            "previous_position": 0,
        },
        "task_assigned": {"task": task(A, assignee_id=u)},
        "task_deleted": {"task_id": u, "deleted_ids": [u], "assignee_ids": [u]},
        "task_restored": {"task": task(A, assignee_id=u), "restored_ids": [u]},
    }
    affecting = {t for t, data in samples.items() if affected_cache_keys(event(t, A, data))}
    assert affecting == CACHE_PROJECT_TYPES
    assert set(EVENT_MODELS) >= CACHE_PROJECT_TYPES
