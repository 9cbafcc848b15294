"""Hypothesis strategies for valid Boardcast events of every type, and a few plain builders for unit tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from boardcast_contracts import EVENT_MODELS, AccountEvent, Priority, ProjectEvent, Role, TaskStatus
from hypothesis import strategies as st

uuids = st.uuids()
text = st.text(max_size=40)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
offsets = st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-14 * 60, 14 * 60))
aware = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1), timezones=offsets)
# Payload timestamps may be naive (meaning UTC); the envelope's must carry an offset.
payload_ts = aware | st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1))


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


tasks = st.fixed_dictionaries(
    {
        "id": uuids,
        "project_id": uuids,
        "title": text,
        "status": st.sampled_from(TaskStatus),
        "position": finite,
        "priority": st.sampled_from(Priority),
        "version": st.integers(min_value=1, max_value=2**53),
        "created_by": uuids,
        "created_at": payload_ts,
        "updated_at": payload_ts,
    },
    optional={
        "parent_id": _optional(uuids),
        "description": text,
        "assignee_id": _optional(uuids),
        "due_date": _optional(st.dates()),
        "estimate_hours": _optional(finite),
        "blocker_reason": _optional(text),
        "blocked_since": _optional(payload_ts),
        "completed_at": _optional(payload_ts),
        "subtask_count": st.integers(min_value=0, max_value=10_000),
        "is_deleted": st.booleans(),
        "deleted_at": _optional(payload_ts),
        "deleted_by": _optional(uuids),
    },
)
comments = st.fixed_dictionaries(
    {
        "id": uuids,
        "task_id": uuids,
        "project_id": uuids,
        "author_id": uuids,
        "body": st.text(max_size=200),
        "mentions": st.lists(uuids, max_size=4),
        "created_at": payload_ts,
        "updated_at": payload_ts,
    }
)
ids = st.lists(uuids, max_size=6)
roles = st.sampled_from(Role)

DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "task_created": st.fixed_dictionaries({"task": tasks}),
    "task_updated": st.fixed_dictionaries({"task": tasks, "changed": st.lists(text, max_size=5)}),
    "task_status_changed": st.fixed_dictionaries(
        {"task": tasks, "previous_status": st.sampled_from(TaskStatus), "previous_position": finite}
    ),
    "task_assigned": st.fixed_dictionaries({"task": tasks, "previous_assignee_id": _optional(uuids)}),
    "task_deleted": st.fixed_dictionaries({"task_id": uuids, "deleted_ids": ids, "assignee_ids": ids}),
    "task_restored": st.fixed_dictionaries(
        {"task": tasks, "restored_ids": ids}, optional={"assignee_ids": ids}
    ),
    "member_added": st.fixed_dictionaries({"user_id": uuids, "role": roles}),
    "member_removed": st.fixed_dictionaries({"user_id": uuids}),
    "member_role_changed": st.fixed_dictionaries({"user_id": uuids, "role": roles, "previous_role": roles}),
    "comment_created": st.fixed_dictionaries({"comment": comments}),
    "comment_updated": st.fixed_dictionaries({"comment": comments}),
    "comment_deleted": st.fixed_dictionaries({"comment_id": uuids, "task_id": uuids}),
    "admin_changed": st.fixed_dictionaries({"user_id": uuids, "is_admin": st.booleans(), "admin_ids": ids}),
}


@st.composite
def events_of(draw: st.DrawFn, event_type: str) -> ProjectEvent | AccountEvent:
    model = EVENT_MODELS[event_type]
    fields: dict[str, Any] = {
        "event_id": draw(uuids),
        "occurred_at": draw(aware),
        "actor_id": draw(uuids),
        "data": draw(DATA[event_type]),
    }
    if model.scope == "project":
        fields |= {"project_id": draw(uuids), "seq": draw(st.integers(min_value=1, max_value=2**62))}
    return model.model_validate(fields)


events = st.sampled_from(sorted(EVENT_MODELS)).flatmap(events_of)


# ---- plain builders ----

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def task(project_id: uuid.UUID, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": uuid.uuid4(),
        "project_id": project_id,
        "title": "t",
        "status": "todo",
        "position": 1.0,
        "priority": "medium",
        "version": 1,
        "created_by": uuid.uuid4(),
        "created_at": T0,
        "updated_at": T0,
    }
    return base | over


def event(event_type: str, project_id: uuid.UUID, data: dict[str, Any], seq: int = 1) -> ProjectEvent:
    model = EVENT_MODELS[event_type]
    built = model.model_validate(
        {
            "event_id": uuid.uuid4(),
            "project_id": project_id,
            "seq": seq,
            "occurred_at": T0,
            "actor_id": uuid.uuid4(),
            "data": data,
        }
    )
    assert isinstance(built, ProjectEvent)
    return built
