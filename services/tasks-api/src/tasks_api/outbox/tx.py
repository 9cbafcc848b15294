"""A unit of work: a session whose commit also writes its events (with the project's next seqs) and audit.

Seq allocation: ``UPDATE projects SET last_seq = last_seq + n ... RETURNING last_seq`` runs last, just before
COMMIT. The row lock it takes serializes the writers of one project until they commit, so seq order is commit
order and seqs are contiguous; the lock is held only for the outbox insert and the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from boardcast_contracts import EVENT_MODELS, AccountEvent, ProjectEvent, encode_event, routing_key_for
from pydantic import BaseModel
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from tasks_api.db.models import AuditEntry, OutboxRow, Project, utcnow

# Core statements on the tables, built once: every write runs both, and the ORM's bulk paths cost more per
# call than the statements themselves.
_projects = cast(Table, Project.__table__)
_BUMP_SEQ = (
    update(_projects)
    .where(_projects.c.id == bindparam("project_id"))
    .values(last_seq=_projects.c.last_seq + bindparam("n"))
    .returning(_projects.c.last_seq)
)
_INSERT_OUTBOX = insert(cast(Table, OutboxRow.__table__))


@dataclass(frozen=True, slots=True)
class _Pending:
    event_type: str
    project_id: uuid.UUID | None
    actor_id: uuid.UUID
    data: BaseModel


class Tx:
    def __init__(
        self,
        session: AsyncSession,
        on_commit: Callable[[list[ProjectEvent | AccountEvent]], None] | None = None,
    ) -> None:
        self.session = session
        self._on_commit = on_commit
        self._events: list[_Pending] = []
        self.now: datetime = utcnow()

    def emit(
        self, event_type: str, project_id: uuid.UUID | None, actor_id: uuid.UUID, data: BaseModel
    ) -> None:
        """Queue an event; it is written to the outbox by ``commit`` in the same transaction as the change."""
        self._events.append(_Pending(event_type, project_id, actor_id, data))

    def audit(
        self,
        actor_id: uuid.UUID,
        action: str,
        entity: str,
        entity_id: object,
        sensitivity: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            AuditEntry(
                at=self.now,
                actor_id=actor_id,
                action=action,
                entity=entity,
                entity_id=str(entity_id),
                sensitivity=sensitivity,
                before=before,
                after=after,
            )
        )

    async def commit(self) -> None:
        """Flush the change, write its events to the outbox, commit; then pass the events to on_commit."""
        await self.session.flush()
        events: list[ProjectEvent | AccountEvent] = []
        if self._events:
            rows, events = await self._outbox_rows()
            await self.session.execute(_INSERT_OUTBOX, rows[0] if len(rows) == 1 else rows)
        await self.session.commit()
        self._events = []
        if events and self._on_commit is not None:
            self._on_commit(events)

    async def _outbox_rows(self) -> tuple[list[dict[str, Any]], list[ProjectEvent | AccountEvent]]:
        counts: dict[uuid.UUID, int] = {}
        for pending in self._events:
            if pending.project_id is not None:
                counts[pending.project_id] = counts.get(pending.project_id, 0) + 1
        next_seq: dict[uuid.UUID, int] = {}
        for project_id, n in sorted(counts.items()):  # a fixed lock order across projects: no deadlocks
            result = await self.session.execute(_BUMP_SEQ, {"project_id": project_id, "n": n})
            next_seq[project_id] = int(result.scalar_one()) - n + 1
        rows: list[dict[str, Any]] = []
        events: list[ProjectEvent | AccountEvent] = []
        for pending in self._events:
            fields: dict[str, Any] = {
                "event_id": uuid.uuid4(),
                "occurred_at": self.now,
                "actor_id": pending.actor_id,
                "data": pending.data,
            }
            seq: int | None = None
            if pending.project_id is not None:
                seq = next_seq[pending.project_id]
                next_seq[pending.project_id] = seq + 1
                fields.update(project_id=pending.project_id, seq=seq)
            event = EVENT_MODELS[pending.event_type](**fields)
            events.append(event)
            rows.append(
                {
                    "event_id": fields["event_id"],
                    "project_id": pending.project_id,
                    "seq": seq,
                    "routing_key": routing_key_for(event),
                    "body": encode_event(event),
                    "created_at": self.now,
                }
            )
        return rows, events
