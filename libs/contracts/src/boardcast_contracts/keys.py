"""Redis names shared between services: the workload/heatmap cache key scheme and per-user channels.

Cache scheme (read-through in tasks-api, invalidated by cache-invalidator):

- ``boardcast:cache:v1:workload:<project_id>:<user_id>`` — a hash, one field per ``week`` (``YYYY-MM-DD``),
  each value the JSON row of that user in that project's workload for that week.
- ``boardcast:cache:v1:workload:all:<user_id>`` — the same for the caller's own workload across all projects
  (``GET /api/workload`` without ``project_id``).
- ``boardcast:cache:v1:heatmap:<project_id>:<user_id>`` — a hash, one field per ``<from>:<to>`` range, each
  value the JSON list of that user's estimate hours per day.

Every entry is per (project, user), so an event invalidates exactly the users it touches in the project it
happened in, and nothing of any other project. ``affected_cache_keys`` is the single rule both sides use.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from boardcast_contracts.events import (
    AccountEvent,
    ProjectEvent,
    TaskAssigned,
    TaskCreated,
    TaskDeleted,
    TaskRestored,
    TaskStatus,
    TaskStatusChanged,
    TaskUpdated,
)

CACHE_PREFIX = "boardcast:cache:v1"
ALL_PROJECTS = "all"

# task_updated fields that feed a workload or heatmap figure.
CACHE_RELEVANT_FIELDS: frozenset[str] = frozenset({"estimate_hours", "due_date", "parent_id"})


def workload_key(project_id: uuid.UUID | None, user_id: uuid.UUID) -> str:
    scope = str(project_id) if project_id is not None else ALL_PROJECTS
    return f"{CACHE_PREFIX}:workload:{scope}:{user_id}"


def heatmap_key(project_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return f"{CACHE_PREFIX}:heatmap:{project_id}:{user_id}"


def heatmap_field(start: object, end: object) -> str:
    return f"{start}:{end}"


def _keys_for_users(project_id: uuid.UUID, users: Iterable[uuid.UUID | None]) -> set[str]:
    keys: set[str] = set()
    for user_id in users:
        if user_id is None:
            continue
        keys.add(workload_key(project_id, user_id))
        keys.add(workload_key(None, user_id))
        keys.add(heatmap_key(project_id, user_id))
    return keys


def affected_cache_keys(event: ProjectEvent | AccountEvent) -> set[str]:
    """The cache keys whose figures this event may have changed; empty when it touches none."""
    if isinstance(event, TaskCreated):
        return _keys_for_users(event.project_id, [event.data.task.assignee_id])
    if isinstance(event, TaskUpdated):
        if CACHE_RELEVANT_FIELDS.isdisjoint(event.data.changed):
            return set()
        return _keys_for_users(event.project_id, [event.data.task.assignee_id])
    if isinstance(event, TaskStatusChanged):
        # open/done decides whether a task counts; blocked/in_progress do not change the figures.
        was_done = event.data.previous_status == TaskStatus.done
        is_done = event.data.task.status == TaskStatus.done
        if was_done == is_done:
            return set()
        return _keys_for_users(event.project_id, [event.data.task.assignee_id])
    if isinstance(event, TaskAssigned):
        users = [event.data.task.assignee_id, event.data.previous_assignee_id]
        return _keys_for_users(event.project_id, users)
    if isinstance(event, TaskDeleted):
        return _keys_for_users(event.project_id, event.data.assignee_ids)
    if isinstance(event, TaskRestored):
        return _keys_for_users(event.project_id, [event.data.task.assignee_id, *event.data.assignee_ids])
    return set()


# ---- notifications: notifier -> gateway seam ----

NOTIFY_PREFIX = "boardcast:notify:v1"


def user_channel(user_id: uuid.UUID) -> str:
    """Redis pub/sub channel the notifier publishes a user's frames to; the gateway relays them verbatim.

    Each message is one JSON frame of SPEC §5: ``{"type": "notification", "notification": {...}}`` or
    ``{"type": "unread_count", "unread_count": n}``.
    """
    return f"{NOTIFY_PREFIX}:user:{user_id}"
