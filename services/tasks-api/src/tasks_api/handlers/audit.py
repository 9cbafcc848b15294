"""Reading the audit log (admins only). Writing happens through Tx.audit inside each audited change."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tasks_api.db.models import AuditEntry
from tasks_api.domain.errors import Forbidden
from tasks_api.handlers.access import is_admin
from tasks_api.schemas import AuditPublic


async def list_audit(
    session: AsyncSession, user_id: uuid.UUID, entity: str | None, since: datetime | None, limit: int
) -> list[AuditPublic]:
    if not await is_admin(session, user_id):
        raise Forbidden("admins only")
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    return [
        AuditPublic(
            id=e.id,
            at=e.at,
            actor_id=e.actor_id,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            sensitivity=e.sensitivity,
            before=e.before,
            after=e.after,
        )
        for e in await session.scalars(stmt)
    ]
