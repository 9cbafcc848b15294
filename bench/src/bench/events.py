"""Benchmark messages: a real task_updated event whose title carries the marker the load generator reads."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from boardcast_contracts import TaskUpdated

BENCH_USER = uuid.UUID("00000000-0000-4000-8000-0000000000b1")


def now_us() -> int:
    """CLOCK_MONOTONIC in microseconds: the clock the Node load generator reads (process.hrtime)."""
    return time.monotonic_ns() // 1000


def marker(k: int, t_us: int) -> str:
    return f"bench@{k}@{t_us}"


class EventFactory:
    """Events of one project in seq order, each a valid SPEC §4 task_updated of realistic size (~900 B)."""

    def __init__(self, project_id: uuid.UUID, first_seq: int = 1) -> None:
        self.project_id = project_id
        self.next_seq = first_seq
        task_id = uuid.uuid4()
        now = datetime.now(UTC)
        template = TaskUpdated.model_validate(
            {
                "event_id": uuid.uuid4(),
                "project_id": project_id,
                "seq": 1,
                "occurred_at": now,
                "actor_id": BENCH_USER,
                "data": {
                    "task": {
                        "id": task_id,
                        "project_id": project_id,
                        "title": marker(0, 0),
                        "description": "Benchmark task: a realistic payload with a paragraph of text in it.",
                        "status": "in_progress",
                        "position": 1024.0,
                        "assignee_id": BENCH_USER,
                        "priority": "high",
                        "due_date": "2026-12-01",
                        "estimate_hours": 3.5,
                        "version": 2,
                        "created_by": BENCH_USER,
                        "created_at": now,
                        "updated_at": now,
                    },
                    "changed": ["title"],
                },
            }
        )
        self._doc: dict[str, Any] = template.model_dump(mode="json")

    def next(self) -> dict[str, Any]:
        """The next event, stamped now; its marker number is its seq (unique within the room)."""
        doc = dict(self._doc)
        doc["event_id"] = str(uuid.uuid4())
        doc["occurred_at"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        doc["seq"] = self.next_seq
        self.next_seq += 1
        data = dict(doc["data"])
        task = dict(data["task"])
        task["title"] = marker(doc["seq"], now_us())
        data["task"] = task
        doc["data"] = data
        return doc
