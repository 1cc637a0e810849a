"""The submission ledger of the collection loop (报送), exactly as collect_ledger.py creates it in the history
file, so `bulletin db copy` moves it with the months.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATES = "'未发', '已发', '已报', '逾期未报', '退回', '已确认', '无需报送'"


def _missing(table: str) -> bool:
    """A history file made before the office database may hold these tables already (made by the sqlite3 code
    with this layout): it is adopted, only the missing tables are created."""
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    text = lambda name, **kw: sa.Column(name, sa.Text, **kw)  # noqa: E731
    blank = lambda name: sa.Column(name, sa.Text, nullable=False, server_default="")  # noqa: E731
    if _missing("collect_ledger"):
        op.create_table("collect_ledger",
                        text("month", nullable=False), text("department", nullable=False),
                        text("annex", nullable=False), text("state", nullable=False), text("sent_at"),
                        text("submitted_at"), text("updated_at", nullable=False), blank("who"), blank("file_hash"),
                        blank("reason"), blank("explanation"), blank("return_file"),
                        sa.PrimaryKeyConstraint("month", "department", "annex"),
                        sa.CheckConstraint(f"state IN ({STATES})", name="collect_ledger_state"))
    if _missing("collect_events"):
        op.create_table("collect_events",
                        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                        text("month", nullable=False), text("department", nullable=False),
                        text("at", nullable=False), text("who", nullable=False), text("file_hash", nullable=False),
                        text("file_name", nullable=False), text("stored", nullable=False),
                        text("outcome", nullable=False), blank("reason"), blank("explanation"))
        op.create_index("collect_events_by_hash", "collect_events", ["file_hash"])
    if _missing("collect_cells"):
        op.create_table("collect_cells",
                        text("month", nullable=False), text("department", nullable=False),
                        text("sheet", nullable=False), sa.Column("position", sa.Integer, nullable=False),
                        text("column_name", nullable=False), text("value_json", nullable=False),
                        sa.PrimaryKeyConstraint("month", "department", "sheet", "position", "column_name"))
    if _missing("collect_months"):
        op.create_table("collect_months", text("month", primary_key=True), text("deadline", nullable=False))
    if _missing("collect_reminders"):
        op.create_table("collect_reminders",
                        text("month", nullable=False), text("department", nullable=False),
                        text("due", nullable=False), text("sent_at", nullable=False),
                        sa.PrimaryKeyConstraint("month", "department", "due"))


def downgrade() -> None:
    for table in ("collect_reminders", "collect_months", "collect_cells", "collect_events", "collect_ledger"):
        op.drop_table(table)
