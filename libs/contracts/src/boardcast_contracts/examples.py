"""One fixed, realistic example of every event type: shown in docs/asyncapi.yaml, usable as a test fixture."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from boardcast_contracts.events import EVENT_MODELS, AccountEvent, ProjectEvent


def _id(name: str) -> uuid.UUID:
    # Stable across runs, so the generated document does not change by itself.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://boardcast.invalid/example/{name}")


PROJECT = _id("project")
ALICE, BOB, CAROL = _id("alice"), _id("bob"), _id("carol")
TASK, SUBTASK, COMMENT = _id("task"), _id("subtask"), _id("comment")
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

_TASK: dict[str, Any] = {
    "id": TASK,
    "project_id": PROJECT,
    "title": "Ship the weekly report",
    "description": "Numbers for the Monday meeting",
    "status": "in_progress",
    "position": 2.5,
    "assignee_id": BOB,
    "priority": "high",
    "due_date": date(2026, 3, 6),
    "estimate_hours": 6.0,
    "version": 4,
    "created_by": ALICE,
    "created_at": datetime(2026, 2, 27, 16, 0, tzinfo=UTC),
    "updated_at": AT,
    "subtask_count": 1,
}
_COMMENT: dict[str, Any] = {
    "id": COMMENT,
    "task_id": TASK,
    "project_id": PROJECT,
    "author_id": ALICE,
    "body": "@Bob can you add last week's figures?",
    "mentions": [BOB],
    "created_at": AT,
    "updated_at": AT,
}

_DATA: dict[str, dict[str, Any]] = {
    "task_created": {"task": _TASK},
    "task_updated": {"task": _TASK, "changed": ["estimate_hours", "due_date"]},
    "task_status_changed": {
        "task": _TASK | {"status": "done", "completed_at": AT},
        "previous_status": "in_progress",
        "previous_position": 1.0,
    },
    "task_assigned": {"task": _TASK, "previous_assignee_id": CAROL},
    "task_deleted": {"task_id": TASK, "deleted_ids": [TASK, SUBTASK], "assignee_ids": [BOB, CAROL]},
    "task_restored": {"task": _TASK, "restored_ids": [TASK, SUBTASK], "assignee_ids": [BOB, CAROL]},
    "member_added": {"user_id": CAROL, "role": "editor"},
    "member_removed": {"user_id": CAROL},
    "member_role_changed": {"user_id": CAROL, "role": "viewer", "previous_role": "editor"},
    "comment_created": {"comment": _COMMENT},
    "comment_updated": {"comment": _COMMENT | {"body": "@Bob and the week before, please"}},
    "comment_deleted": {"comment_id": COMMENT, "task_id": TASK},
    "admin_changed": {"user_id": CAROL, "is_admin": True, "admin_ids": [ALICE, CAROL]},
}


def example_event(event_type: str, seq: int = 42) -> ProjectEvent | AccountEvent:
    """A valid event of ``event_type`` with fixed ids; project events are in ``examples.PROJECT``."""
    model = EVENT_MODELS[event_type]
    fields: dict[str, Any] = {
        "event_id": _id(f"event/{event_type}/{seq}"),
        "occurred_at": AT,
        "actor_id": ALICE,
        "data": _DATA[event_type],
    }
    if model.scope == "project":
        fields |= {"project_id": PROJECT, "seq": seq}
    return model.model_validate(fields)
