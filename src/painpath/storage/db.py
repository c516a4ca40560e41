"""Engines and sessions for SQLite (default, WAL) and PostgreSQL (psycopg 3), and migrations.

SQLite: WAL journal, ``synchronous=FULL`` (a committed write survives a crash of
the process or the machine), foreign keys on, and write transactions opened with
``BEGIN IMMEDIATE`` so that several worker processes queue for the write lock
instead of failing when a read transaction tries to become a write.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def _refuse_nul(conn, cursor, statement, parameters, context, executemany):
    """PostgreSQL cannot store NUL characters in text (psycopg raises DataError, which would be a 500):
    refuse them on every database, before the statement runs, as a 400 that says what is wrong."""
    from painpath.errors import ServiceError

    if any("\x00" in v for v in _strings(parameters)):
        raise ServiceError("a text value contains a NUL character (\\u0000); it cannot be stored")


def _strings(params: object) -> Iterator[str]:
    """Every string in statement parameters: a dict or sequence of values, or a sequence of those (executemany)."""
    if isinstance(params, str):
        yield params
    elif isinstance(params, dict):
        for v in params.values():
            yield from _strings(v)
    elif isinstance(params, (list, tuple)):
        for v in params:
            yield from _strings(v)


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:" and not path.startswith("file:"):  # not for URI filenames (file:...?mode=ro&uri=true)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass(frozen=True)
class Setting:
    """One durability setting of the database: its value, whether it is safe, and why it matters."""

    name: str
    value: str
    safe: bool
    why: str


class Database:
    """The application's database: ``read()`` and ``write()`` give transactional sessions."""

    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, immediate=False)
            self._write_engine = _sqlite_engine(url, immediate=True)
        else:
            # per worker process: workers x (pool_size + max_overflow) must stay under max_connections
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)
            self._write_engine = self.engine
        for engine in {self.engine, self._write_engine}:
            event.listen(engine, "before_cursor_execute", _refuse_nul)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)
        # SQLite has one writer at a time: threads of this process queue here, not in SQLite's busy handler,
        # which polls with sleeps of up to 100 ms and so gives the lock to a sleeper late (other processes
        # still meet at BEGIN IMMEDIATE)
        self._write_turn: AbstractContextManager[object] = threading.RLock() if self.is_sqlite else nullcontext()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as s, s.begin():
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success (the write is durable when the block exits) and rolls back on error."""
        with self._write_turn, self._write() as s, s.begin():
            yield s

    def ping(self) -> None:
        with self.engine.connect() as c:
            c.execute(text("SELECT 1"))

    def durability(self) -> list[Setting]:
        """The settings that decide whether an acknowledged write survives a crash or a power cut, as the
        database reports them on a real connection, each judged safe or not."""
        with self._write_engine.connect() as c:
            if self.is_sqlite:
                mode = str(c.exec_driver_sql("PRAGMA journal_mode").scalar()).lower()
                sync = int(c.exec_driver_sql("PRAGMA synchronous").scalar() or 0)
                c.rollback()
                return [
                    Setting("journal_mode", mode, mode == "wal",
                            "write-ahead log: readers never see a half-written transaction"),
                    Setting("synchronous", {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync, str(sync)),
                            sync >= 2, "FULL: every commit is on disk before it is acknowledged"),
                ]
            values = {name: str(c.execute(text(f"SHOW {name}")).scalar())
                      for name in ("fsync", "synchronous_commit", "full_page_writes")}
            c.rollback()
        return [
            Setting("fsync", values["fsync"], values["fsync"] == "on",
                    "off: a power cut can corrupt the whole cluster"),
            Setting("synchronous_commit", values["synchronous_commit"], values["synchronous_commit"] != "off",
                    "off: a crash or power cut loses the last acknowledged commits"),
            Setting("full_page_writes", values["full_page_writes"], values["full_page_writes"] == "on",
                    "off: a power cut during a page write can leave a torn page"),
        ]

    def dispose(self) -> None:
        self.engine.dispose()
        if self._write_engine is not self.engine:
            self._write_engine.dispose()


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``. Safe to call from several processes at once."""
    from alembic import command

    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return MigrationContext.configure(c).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
