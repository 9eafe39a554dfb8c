"""The business store: records that must outlive Redis's hot state (visits, reminders sent, episodes).

SQLite embedded when `database_url` is unset, PostgreSQL when it is set; the schema is kept by Alembic
migrations (`lead-gateway migrate`, and at the start of run, serve and worker).
"""
