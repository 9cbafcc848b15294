"""Pure task and role rules: status side effects, positions, permissions, mentions, If-Match parsing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Protocol

from boardcast_contracts import Role, TaskStatus

from tasks_api.domain.errors import Forbidden, Invalid

STATUS_ORDER: tuple[str, ...] = tuple(s.value for s in TaskStatus)
_ROLE_RANK = {Role.viewer: 0, Role.editor: 1, Role.owner: 2}
POSITION_STEP = 1024.0


class StatusHolder(Protocol):
    status: str
    blocked_since: datetime | None
    completed_at: datetime | None
    blocker_reason: str | None


def apply_status(task: StatusHolder, new_status: str, now: datetime) -> None:
    """Move ``task`` to ``new_status``, keeping the server-managed timestamps of SPEC §3 in step."""
    old = task.status
    if old == new_status:
        return
    if new_status == TaskStatus.blocked:
        task.blocked_since = now
    elif old == TaskStatus.blocked:
        task.blocked_since = None
        task.blocker_reason = None
    if new_status == TaskStatus.done:
        task.completed_at = now
    elif old == TaskStatus.done:
        task.completed_at = None
    task.status = new_status


def next_position(last: float | None) -> float:
    """Where a card goes when appended to a column whose last card sits at ``last``."""
    return POSITION_STEP if last is None else last + POSITION_STEP


def require_role(role: str, needed: Role) -> None:
    if _ROLE_RANK[Role(role)] < _ROLE_RANK[needed]:
        raise Forbidden(f"this needs the {needed.value} role in the project; you are {role}")


def parse_if_match(header: str | None) -> int | None:
    """The version an If-Match header names (``3``, ``"3"``, ``W/"3"``), None for absent or ``*``."""
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return None
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise Invalid("If-Match must be a task version, e.g. If-Match: 3", loc=["header", "if-match"])
    return int(value)


def find_mentions(body: str, members: Iterable[tuple[str, str]]) -> list[str]:
    """Ids of members whose ``@name`` appears in ``body`` (case-insensitive; the longest name wins an @)."""
    lowered = body.casefold()
    taken: set[int] = set()  # positions of @ signs already claimed by a longer name
    found: list[str] = []
    for member_id, name in sorted(members, key=lambda m: -len(m[1])):
        needle = "@" + name.casefold()
        start = lowered.find(needle)
        while start != -1:
            end = start + len(needle)
            # A mention ends at the end of the body or at a character that cannot continue a name.
            at_boundary = end == len(lowered) or not (lowered[end].isalnum() or lowered[end] == "_")
            if at_boundary and start not in taken:
                taken.add(start)
                found.append(member_id)
                break
            start = lowered.find(needle, start + 1)
    return found


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
