"""The notifier's tables: inbox, notifications, task projection.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from notifier.db import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifier_inbox",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("processed_at", UtcDateTime(), nullable=False),
        sa.Column("push_claimed_at", UtcDateTime(), nullable=True),
        sa.Column("pushed_at", UtcDateTime(), nullable=True),
    )
    op.create_table(
        "notifier_notifications",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), sa.ForeignKey("notifier_inbox.event_id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("comment_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("read_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("user_id", "event_id", name="uq_notifier_notifications_user_event"),
    )
    op.create_index(
        "ix_notifier_notifications_user_created", "notifier_notifications", ["user_id", "created_at"]
    )
    op.create_index(
        "ix_notifier_notifications_unread",
        "notifier_notifications",
        ["user_id"],
        postgresql_where=sa.text("read_at IS NULL"),
        sqlite_where=sa.text("read_at IS NULL"),
    )
    op.create_index("ix_notifier_notifications_event", "notifier_notifications", ["event_id"])
    op.create_index("ix_notifier_notifications_comment_id", "notifier_notifications", ["comment_id"])
    op.create_table(
        "notifier_tasks",
        sa.Column("task_id", sa.Uuid(), primary_key=True),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notifier_tasks")
    op.drop_table("notifier_notifications")
    op.drop_table("notifier_inbox")
