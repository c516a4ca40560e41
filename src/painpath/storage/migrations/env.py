"""Alembic environment: runs migrations on the URL set by painpath.storage.db.upgrade.

On PostgreSQL an advisory lock makes concurrent start-ups (several workers or
machines) apply migrations once; on SQLite the write lock does the same.
"""

from alembic import context
from sqlalchemy import create_engine, text

from painpath.storage.models import Base

config = context.config
target_metadata = Base.metadata
LOCK_ID = 0x5041494E  # "PAIN"


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: no sqlalchemy.url set (storage/db.py alembic_config sets it)")
    engine = create_engine(url)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_ID})
            conn.commit()
        try:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=conn.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_ID})
                conn.commit()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
