"""Routes: weekly report, workload and heatmap (X-Cache: hit|miss), and the audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from tasks_api.api.deps import CallerDep, ServicesDep, SessionDep
from tasks_api.handlers import audit, reports
from tasks_api.schemas import (
    AuditPublic,
    HeatmapOut,
    SafeStr,
    SaneDate,
    SaneDateTime,
    WeeklyReport,
    WorkloadRow,
)

router = APIRouter(prefix="/api", tags=["reports"])


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("/projects/{project_id}/weekly-report")
async def weekly_report(
    project_id: uuid.UUID, caller: CallerDep, session: SessionDep, week: SaneDate | None = None
) -> WeeklyReport:
    return await reports.weekly_report(session, caller.id, project_id, week, _today())


@router.get("/workload")
async def workload(
    caller: CallerDep,
    session: SessionDep,
    services: ServicesDep,
    response: Response,
    project_id: uuid.UUID | None = None,
    week: SaneDate | None = None,
) -> list[WorkloadRow]:
    rows, hit = await reports.workload(
        session,
        services.cache,
        caller.id,
        caller.name,
        project_id,
        week,
        _today(),
        services.settings.capacity_hours,
    )
    response.headers["X-Cache"] = "hit" if hit else "miss"
    return rows


@router.get("/projects/{project_id}/heatmap")
async def heatmap(
    project_id: uuid.UUID,
    caller: CallerDep,
    session: SessionDep,
    services: ServicesDep,
    response: Response,
    start: Annotated[SaneDate | None, Query(alias="from")] = None,
    end: Annotated[SaneDate | None, Query(alias="to")] = None,
) -> HeatmapOut:
    out, hit = await reports.heatmap(session, services.cache, caller.id, project_id, start, end, _today())
    response.headers["X-Cache"] = "hit" if hit else "miss"
    return out


@router.get("/audit")
async def list_audit(
    caller: CallerDep,
    session: SessionDep,
    entity: Annotated[SafeStr | None, Query(max_length=32)] = None,
    since: SaneDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditPublic]:
    return await audit.list_audit(session, caller.id, entity, since, limit)
