"""The office database's first layout: the month history and the mail ledger exactly as history_sqlite.py and
mail_ledger.py create them in their SQLite file (so `bulletin db copy` can move a history into PostgreSQL), the
accounts, their sessions and the append-only audit log.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

HISTORY_SCHEMA_VERSION = 1  # history_sqlite.SCHEMA_VERSION of the tables below
_MAIL_COLUMNS = "month, department, content_hash, recipients, status, answer, attempts, updated_at, sent_at"


def _missing(table: str) -> bool:
    """A history file made before the office database already has its tables (made by the sqlite3 code with
    this same layout): it is adopted, only the missing tables are created."""
    return not sa.inspect(op.get_bind()).has_table(table)


def _table(name: str, *columns, index: tuple[str, list[str]] | None = None) -> None:
    if _missing(name):
        op.create_table(name, *columns)
        if index:
            op.create_index(index[0], name, index[1])


def _mail_ledger(name: str):
    return (name,
            sa.Column("month", sa.Text, nullable=False),
            sa.Column("department", sa.Text, nullable=False),
            sa.Column("content_hash", sa.Text, nullable=False),
            sa.Column("recipients", sa.Text, nullable=False),
            sa.Column("status", sa.Text, nullable=False),
            sa.Column("answer", sa.Text, nullable=False, server_default=""),
            sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
            sa.Column("updated_at", sa.Text, nullable=False),
            sa.Column("sent_at", sa.Text),
            sa.Column("refused", sa.Text, nullable=False, server_default=""),
            sa.PrimaryKeyConstraint("month", "department"),
            sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'uncertain')", name="mail_ledger_status"))


def _old_mail_ledger() -> None:
    """A mail ledger written before the uncertain state (and the refused column): its rows copied into the
    current layout (a CHECK constraint cannot be altered in place)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'mail_ledger'")).scalar()
    if sql is None or "uncertain" in sql:
        return
    op.create_table(*_mail_ledger("mail_ledger_new"))
    op.execute(f"INSERT INTO mail_ledger_new ({_MAIL_COLUMNS}) SELECT {_MAIL_COLUMNS} FROM mail_ledger")
    op.drop_table("mail_ledger")
    op.rename_table("mail_ledger_new", "mail_ledger")


def _history() -> None:
    if _missing("schema_version"):
        op.create_table("schema_version", sa.Column("version", sa.Integer, nullable=False))
        op.bulk_insert(sa.table("schema_version", sa.column("version", sa.Integer)),
                       [{"version": HISTORY_SCHEMA_VERSION}])
    _table("months",
           sa.Column("month", sa.Text, primary_key=True),
           sa.Column("source", sa.Text, nullable=False),
           sa.Column("closed_at", sa.Text, nullable=False))
    _table("scalars",
           sa.Column("month", sa.Text, sa.ForeignKey("months.month"), nullable=False),
           sa.Column("position", sa.Integer, nullable=False),
           sa.Column("name", sa.Text, nullable=False),
           sa.Column("value_json", sa.Text),
           sa.PrimaryKeyConstraint("month", "name"))
    _table("annexes",
           sa.Column("month", sa.Text, sa.ForeignKey("months.month"), nullable=False),
           sa.Column("sheet", sa.Text, nullable=False),
           sa.Column("position", sa.Integer, nullable=False),
           sa.PrimaryKeyConstraint("month", "sheet"))
    _table("input_rows",
           sa.Column("month", sa.Text, nullable=False),
           sa.Column("sheet", sa.Text, nullable=False),
           sa.Column("position", sa.Integer, nullable=False),
           sa.Column("row_no", sa.Integer),
           sa.Column("kind", sa.Text, nullable=False),
           sa.Column("section", sa.Text),
           sa.Column("label", sa.Text),
           sa.Column("department", sa.Text),
           sa.Column("known", sa.Integer, nullable=False),
           sa.Column("values_json", sa.Text, nullable=False),
           sa.PrimaryKeyConstraint("month", "sheet", "position"),
           sa.ForeignKeyConstraint(["month", "sheet"], ["annexes.month", "annexes.sheet"]))
    _table("result_rows",
           sa.Column("month", sa.Text, nullable=False),
           sa.Column("sheet", sa.Text, nullable=False),
           sa.Column("position", sa.Integer, nullable=False),
           sa.Column("kind", sa.Text, nullable=False),
           sa.Column("row_no", sa.Integer),
           sa.Column("section", sa.Text),
           sa.Column("department", sa.Text),
           sa.Column("label", sa.Text),
           sa.Column("values_json", sa.Text, nullable=False),
           sa.PrimaryKeyConstraint("month", "sheet", "position"),
           sa.ForeignKeyConstraint(["month", "sheet"], ["annexes.month", "annexes.sheet"]),
           sa.CheckConstraint("kind IN ('department', 'reference', 'total', 'subtotal')",
                              name="result_rows_kind"),
           index=("result_rows_by_department", ["sheet", "department", "month"]))
    _table("registry_rows",
           sa.Column("month", sa.Text, nullable=False),
           sa.Column("position", sa.Integer, nullable=False),
           sa.Column("values_json", sa.Text, nullable=False),
           sa.PrimaryKeyConstraint("month", "position"))
    _old_mail_ledger()
    _table(*_mail_ledger("mail_ledger"))


def _accounts() -> None:
    op.create_table("accounts",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("name", sa.Text, nullable=False, unique=True),
                    sa.Column("role", sa.Text, nullable=False),
                    sa.Column("department", sa.Text),
                    sa.Column("password_hash", sa.Text, nullable=False),
                    sa.Column("must_change_password", sa.Boolean, nullable=False),
                    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
                    sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
                    sa.Column("locked_until", sa.Text),
                    sa.Column("created_at", sa.Text, nullable=False),
                    sa.Column("updated_at", sa.Text, nullable=False))
    op.create_table("sessions",
                    sa.Column("id_hash", sa.Text, primary_key=True),
                    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
                    sa.Column("from_address", sa.Text, nullable=False, server_default=""),
                    sa.Column("created_at", sa.Text, nullable=False),
                    sa.Column("expires_at", sa.Text, nullable=False),
                    sa.Column("revoked_at", sa.Text))
    with op.batch_alter_table("sessions") as batch:
        batch.create_index("sessions_by_account", ["account_id"])


def _audit() -> None:
    op.create_table("audit_log",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("at", sa.Text, nullable=False),
                    sa.Column("username", sa.Text, nullable=False),
                    sa.Column("from_address", sa.Text, nullable=False, server_default=""),
                    sa.Column("action", sa.Text, nullable=False),
                    sa.Column("month", sa.Text),
                    sa.Column("department", sa.Text),
                    sa.Column("target", sa.Text),
                    sa.Column("old_value", sa.Text),
                    sa.Column("new_value", sa.Text),
                    sa.Column("detail", sa.Text, nullable=False, server_default="{}"))
    with op.batch_alter_table("audit_log") as batch:
        batch.create_index("audit_by_month", ["month", "id"])
        batch.create_index("audit_by_user", ["username", "id"])
        batch.create_index("audit_by_department", ["department", "id"])
    # append-only in the database itself, not only by the absence of an API: any UPDATE or DELETE aborts
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                   " RAISE EXCEPTION 'audit_log is append-only'; END $$")
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
                   " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log"
                       " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def upgrade() -> None:
    _history()
    _accounts()
    _audit()


def downgrade() -> None:
    raise NotImplementedError("the office database is never downgraded: restore a backup instead")
