"""Report arithmetic (workload, heatmap, weekly report windows), on plain values.

Semantics where SPEC is silent (also in the README):
- ``week`` is any date; it stands for its Monday-to-Sunday week (default: the current week).
- workload counts a user's live, not-done tasks that are undated or due on or before the week's Sunday;
  ``overdue`` counts those due before today; capacity is a setting (40 h/week);
  ``load_percent = estimate_hours / capacity_hours * 100``, one decimal.
- heatmap sums the estimate hours of live, not-done tasks per assignee and due date, one row per member.
"""

from __future__ import annotations

from datetime import date, timedelta

from tasks_api.domain.errors import Invalid
from tasks_api.domain.rules import week_start

MAX_HEATMAP_DAYS = 366
DEFAULT_HEATMAP_DAYS = 28


def week_window(week: date | None, today: date) -> tuple[date, date]:
    """(Monday, Sunday) of the week ``week`` falls in, or of the current week."""
    start = week_start(week or today)
    return start, start + timedelta(days=6)


def heatmap_days(start: date | None, end: date | None, today: date) -> list[date]:
    first = start or week_start(today)
    last = end or first + timedelta(days=DEFAULT_HEATMAP_DAYS - 1)
    if last < first:
        raise Invalid("to must not be before from")
    span = (last - first).days + 1
    if span > MAX_HEATMAP_DAYS:
        raise Invalid(f"the range covers {span} days; at most {MAX_HEATMAP_DAYS}")
    return [first + timedelta(days=i) for i in range(span)]


def load_percent(estimate_hours: float, capacity_hours: float) -> float:
    return round(estimate_hours / capacity_hours * 100, 1)
