"""The database settings that decide whether an acknowledged write survives a crash or a power cut.

A SIGKILL test (test_durability.py) cannot show what a power cut does: the operating system's page cache
survives a killed process. What protects a write then is the database flushing it to disk before the commit is
acknowledged, so PainPath reads those settings from the real database (``Database.durability``), reports them
(``painpath db check``) and warns at server start when one is unsafe.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from painpath.api.app import create_app
from painpath.cli.serve_cmd import _unsafe_durability
from painpath.config import Settings
from painpath.storage.db import Database, upgrade
from tests.conftest import PG_ADMIN_URL, run_cli


def _by_name(db: Database) -> dict[str, tuple[str, bool]]:
    """name -> (value, safe) as the database reports them; the database is disposed of afterwards."""
    try:
        return {s.name: (s.value, s.safe) for s in db.durability()}
    finally:
        db.dispose()


def test_painpath_databases_are_durable(db_url: str) -> None:
    """SQLite as PainPath opens it (WAL, synchronous=FULL) and the machine's PostgreSQL as configured."""
    settings = _by_name(Database(db_url))
    if db_url.startswith("sqlite"):
        assert settings == {"journal_mode": ("wal", True), "synchronous": ("FULL", True)}
    else:
        assert set(settings) == {"fsync", "synchronous_commit", "full_page_writes"}
        assert all(safe for _value, safe in settings.values()), settings
        assert settings["fsync"][0] == "on"


def test_sqlite_without_synchronous_full_is_reported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    db = Database(url)
    # a hook registered after PainPath's own turns the flush off (as a careless deployment might)
    sa.event.listen(db._write_engine, "connect", lambda conn, _rec: conn.execute("PRAGMA synchronous=OFF"))
    settings = _by_name(db)
    assert settings["synchronous"] == ("OFF", False)
    assert settings["journal_mode"] == ("wal", True)


@pytest.fixture
def lax_pg_url(pg_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database with ``synchronous_commit = off`` (the system cluster is not changed)."""
    name = f"painpath_lax_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        c.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgresql_synchronous_commit_off_is_reported(lax_pg_url: str) -> None:
    settings = _by_name(Database(lax_pg_url))
    assert settings["synchronous_commit"] == ("off", False)
    warnings = _unsafe_durability(lax_pg_url)
    assert len(warnings) == 1 and "synchronous_commit = off" in warnings[0], warnings


def test_db_check_command(lax_pg_url: str, pg_url: str) -> None:
    good = run_cli("db", "check", "--json", env={"DATABASE_URL": pg_url})
    assert good.returncode == 0, good.stderr
    report = json.loads(good.stdout)
    assert report["safe"] is True and {s["name"] for s in report["settings"]} == {
        "fsync", "synchronous_commit", "full_page_writes"}
    bad = run_cli("db", "check", env={"DATABASE_URL": lax_pg_url})
    assert bad.returncode == 1, (bad.stdout, bad.stderr)
    assert "UNSAFE synchronous_commit = off" in bad.stdout and "ok     fsync = on" in bad.stdout


def test_db_check_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"PAINPATH_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    assert run_cli("db", "upgrade", env=env).returncode == 0  # `db check` creates no database
    r = run_cli("db", "check", env=env)
    assert r.returncode == 0, r.stderr
    assert "ok     synchronous = FULL" in r.stdout and "ok     journal_mode = wal" in r.stdout


def test_db_check_unreachable_database_is_a_clear_error() -> None:
    r = run_cli("db", "check", env={"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    assert r.returncode == 2 and r.stderr.startswith("database: postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert r.stderr.splitlines()[-1].startswith("error: database postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert "Traceback" not in r.stderr


def test_pool_size_comes_from_the_settings(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url=pg_url, auto_migrate=False, db_pool_size=2,
                        db_max_overflow=1)
    app = create_app(settings, web=False)
    with TestClient(app) as client:
        assert client.get("/v1/health").status_code == 200
        pool = app.state.db.engine.pool
        assert pool.size() == 2 and pool._max_overflow == 1  # type: ignore[attr-defined]


def test_serve_warns_about_unsafe_settings_at_start(lax_pg_url: str) -> None:
    """The warning comes before the server binds; port 5432 is PostgreSQL's, so uvicorn stops right after it."""
    r = run_cli("serve", "--port", "5432", env={"DATABASE_URL": lax_pg_url}, timeout=60)
    assert r.returncode != 0
    warnings = [line for line in r.stderr.splitlines() if line.startswith("WARNING: database setting")]
    assert warnings == [
        "WARNING: database setting synchronous_commit = off (off: a crash or power cut loses the last acknowledged "
        "commits); see docs/deployment.md"], r.stderr


def test_serve_without_auto_migrate_refuses_an_old_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("serve", "--port", "1", env={"PAINPATH_DATA_DIR": str(tmp_path), "DATABASE_URL": "",
                                             "PAINPATH_AUTO_MIGRATE": "false"})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "is at revision (none), this version needs" in r.stderr and "painpath db upgrade" in r.stderr
