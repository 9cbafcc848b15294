"""Reports: weekly report (SPEC §3), workload and heatmap (read-through cached per project and user)."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from boardcast_contracts import TaskStatus
from boardcast_contracts.keys import heatmap_field, heatmap_key, workload_key
from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tasks_api.cache import RowCache
from tasks_api.db.models import Member, Task, User
from tasks_api.domain.reports import heatmap_days, load_percent, week_window
from tasks_api.handlers.access import role_in
from tasks_api.handlers.payloads import subtask_count_expr, task_payload
from tasks_api.schemas import HeatmapOut, HeatmapRow, ReportItem, WeeklyReport, WorkloadRow

_OPEN = and_(Task.is_deleted == false(), Task.status != TaskStatus.done.value)


async def weekly_report(
    session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID, week: date | None, today: date
) -> WeeklyReport:
    await role_in(session, project_id, user_id)
    start, end = week_window(week, today)
    next_start, next_end = start + timedelta(days=7), end + timedelta(days=7)
    rows = await session.execute(
        select(Task, subtask_count_expr(), User.name)
        .outerjoin(User, User.id == Task.assignee_id)
        .where(
            Task.project_id == project_id,
            Task.is_deleted == false(),
            or_(
                and_(
                    Task.status == TaskStatus.done.value,
                    Task.completed_at >= datetime.combine(start, time(), UTC),
                    Task.completed_at < datetime.combine(next_start, time(), UTC),
                ),
                Task.status.in_([TaskStatus.in_progress.value, TaskStatus.blocked.value]),
                and_(Task.status != TaskStatus.done.value, Task.due_date <= max(today, next_end)),
            ),
        )
        .order_by(Task.due_date, Task.position, Task.id)
    )
    report = WeeklyReport(
        week_start=start, completed=[], in_progress=[], blocked=[], overdue=[], next_week=[]
    )
    for task, count, name in rows:
        item = ReportItem(**task_payload(task, count).model_dump(), assignee_name=name)
        if task.status == TaskStatus.done:
            report.completed.append(item)
            continue
        if task.status == TaskStatus.in_progress:
            report.in_progress.append(item)
        if task.status == TaskStatus.blocked:
            report.blocked.append(item)
        if task.due_date is not None and task.due_date < today:
            report.overdue.append(item.model_copy(update={"days_overdue": (today - task.due_date).days}))
        if task.due_date is not None and next_start <= task.due_date <= next_end:
            report.next_week.append(item)
    return report


async def _members(session: AsyncSession, project_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    rows = await session.execute(
        select(User.id, User.name)
        .join(Member, Member.user_id == User.id)
        .where(Member.project_id == project_id)
        .order_by(User.name, User.id)
    )
    return [(u, n) for u, n in rows]


async def _workload_rows(
    session: AsyncSession,
    users: list[tuple[uuid.UUID, str]],
    project_id: uuid.UUID | None,
    week_end: date,
    today: date,
    capacity: float,
) -> list[str]:
    stmt = (
        select(
            Task.assignee_id,
            func.count(),
            func.coalesce(func.sum(Task.estimate_hours), 0.0),
            func.coalesce(func.sum(case((Task.due_date < today, 1), else_=0)), 0),
        )
        .where(
            _OPEN,
            Task.assignee_id.in_([u for u, _ in users]),
            or_(Task.due_date.is_(None), Task.due_date <= week_end),
        )
        .group_by(Task.assignee_id)
    )
    if project_id is not None:
        stmt = stmt.where(Task.project_id == project_id)
    figures = {a: (int(n), float(h), int(o)) for a, n, h, o in (await session.execute(stmt))}
    out = []
    for user_id, name in users:
        n, hours, overdue = figures.get(user_id, (0, 0.0, 0))
        row = WorkloadRow(
            user_id=user_id,
            name=name,
            open_tasks=n,
            estimate_hours=hours,
            overdue=overdue,
            capacity_hours=capacity,
            load_percent=load_percent(hours, capacity),
        )
        out.append(row.model_dump_json())
    return out


async def workload(
    session: AsyncSession,
    cache: RowCache,
    user_id: uuid.UUID,
    user_name: str,
    project_id: uuid.UUID | None,
    week: date | None,
    today: date,
    capacity: float,
) -> tuple[list[WorkloadRow], bool]:
    start, end = week_window(week, today)
    if project_id is None:
        name = await session.scalar(select(User.name).where(User.id == user_id))
        users = [(user_id, name or user_name)]
    else:
        await role_in(session, project_id, user_id)
        users = await _members(session, project_id)
    values, hit = await cache.read_through(
        [workload_key(project_id, u) for u, _ in users],
        start.isoformat(),
        lambda: _workload_rows(session, users, project_id, end, today, capacity),
    )
    return [WorkloadRow.model_validate_json(v) for v in values], hit


async def heatmap(
    session: AsyncSession,
    cache: RowCache,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    start: date | None,
    end: date | None,
    today: date,
) -> tuple[HeatmapOut, bool]:
    await role_in(session, project_id, user_id)
    days = heatmap_days(start, end, today)
    users = await _members(session, project_id)

    async def load() -> list[str]:
        rows = await session.execute(
            select(Task.assignee_id, Task.due_date, func.coalesce(func.sum(Task.estimate_hours), 0.0))
            .where(
                _OPEN,
                Task.project_id == project_id,
                Task.assignee_id.in_([u for u, _ in users]),
                Task.due_date.between(days[0], days[-1]),
            )
            .group_by(Task.assignee_id, Task.due_date)
        )
        hours: dict[uuid.UUID, list[float]] = defaultdict(lambda: [0.0] * len(days))
        for assignee, due, total in rows:
            if assignee is not None and due is not None:
                hours[assignee][(due - days[0]).days] = float(total or 0.0)
        return [json.dumps(hours[u]) for u, _ in users]

    values, hit = await cache.read_through(
        [heatmap_key(project_id, u) for u, _ in users], heatmap_field(days[0], days[-1]), load
    )
    rows = [
        HeatmapRow(user_id=u, name=n, hours=json.loads(v)) for (u, n), v in zip(users, values, strict=True)
    ]
    return HeatmapOut(days=days, rows=rows), hit
