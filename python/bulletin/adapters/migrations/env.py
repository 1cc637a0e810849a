"""Alembic's environment for the office database: always run from office_db.upgrade(), which hands over an open
connection (config.attributes["connection"]); batch mode so one migration serves SQLite and PostgreSQL."""
from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
