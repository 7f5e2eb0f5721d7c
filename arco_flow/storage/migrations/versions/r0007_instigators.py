"""Instigators: each schedule's or sensor's state and its ticks, as projections.

Tables: instigator_states, instigator_ticks. They are filled from the log when the store
opens after the upgrade (the store replays its log whenever it was upgraded).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def _scope() -> list[sa.Column[str]]:
    return [
        sa.Column("tenant_id", sa.String, primary_key=True),
        sa.Column("workspace_id", sa.String, primary_key=True),
        sa.Column("instigator_name", sa.String, primary_key=True),
    ]


def upgrade() -> None:
    """Creates the instigator state and tick tables and their indexes."""
    op.create_table(
        "instigator_states",
        *_scope(),
        sa.Column("user_status", sa.String),
        sa.Column("status_changed_time", sa.Double),
        sa.Column("cursor", sa.Text),
        sa.Column("last_scheduled_time", sa.Double),
        sa.Column("last_tick_time", sa.Double),
        sa.Column("last_completion_time", sa.Double),
        sa.Column("seen_sequence", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "instigator_ticks",
        *_scope(),
        sa.Column("tick_id", sa.String, primary_key=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("scheduled_time", sa.Double),
        sa.Column("end_timestamp", sa.Double),
        sa.Column("run_ids", sa.Text, nullable=False),
        sa.Column("skip_reason", sa.String),
        sa.Column("error", sa.Text),
        sa.Column("skipped_run_keys", sa.Text, nullable=False),
        sa.Column("run_requests", sa.Text, nullable=False),
        sa.Column("partition_requests", sa.Text, nullable=False),
        sa.Column("cursor_before", sa.Text),
        sa.Column("cursor_after", sa.Text),
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("events.event_id"), nullable=False),
        sa.Column("started_sequence", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_instigator_ticks_sequence",
        "instigator_ticks",
        ["tenant_id", "workspace_id", "instigator_name", "started_sequence"],
    )
    op.create_index(
        "ix_instigator_ticks_status",
        "instigator_ticks",
        ["tenant_id", "workspace_id", "instigator_name", "status", "started_sequence"],
    )


def downgrade() -> None:
    """Drops the instigator tables."""
    op.drop_table("instigator_ticks")
    op.drop_table("instigator_states")
