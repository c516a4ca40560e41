"""The Alembic migrations and the SQLAlchemy models describe the same schema, and migrations run both ways."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from painpath.storage.db import alembic_config, current_revision, head_revision, upgrade
from painpath.storage.models import Base


def test_models_match_the_migrated_schema(db_url: str) -> None:
    """A model changed without a migration (or the reverse) shows up here, on SQLite and PostgreSQL."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diffs == [], diffs


def test_downgrade_to_nothing_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    assert current_revision(url) == head_revision()
    command.downgrade(alembic_config(url), "base")
    engine = create_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(url)
    assert current_revision(url) == head_revision() == "0005"
