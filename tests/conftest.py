"""Shared fixtures and helpers for the domain-core and CLI tests."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import pytest

# Tests never touch the user's own data directory (the default when PAINPATH_DATA_DIR is unset): every command,
# server and app a test starts without its own data directory gets this temporary one.
_TEST_DATA = tempfile.mkdtemp(prefix="painpath-tests-")
os.environ["PAINPATH_DATA_DIR"] = _TEST_DATA
atexit.register(shutil.rmtree, _TEST_DATA, ignore_errors=True)
# The whole suite starts its anonymous assessments from one client address ("testclient", 127.0.0.1) into
# databases shared by the session; the per-address limit on them is tested on its own
# (tests/security/test_probe_findings.py::test_anonymous_creation_is_limited), so lift it for the rest.
os.environ.setdefault("PAINPATH_ANONYMOUS_PER_CLIENT", "100000000")

REPO = Path(__file__).resolve().parents[1]
# Benchmark v1 (19 conditions): BENCHMARK / DEV, for the tests written about its cases (by id).
BENCHMARK = (REPO / ".." / "shared" / "benchmark").resolve()
DEV = BENCHMARK / "dev"
# Benchmark v2 (36 conditions, gold `other`): the target; the knowledge base is checked against it.
BENCHMARK_V2 = (REPO / ".." / "shared" / "benchmark-v2").resolve()
DEV_V2 = BENCHMARK_V2 / "dev"
TINY_KB = Path(__file__).resolve().parent / "data" / "tiny_kb"
SKIP_NO_BENCH = f"benchmark not found at {BENCHMARK} (expected ../shared/benchmark next to the repository)"
SKIP_NO_BENCH_V2 = f"benchmark v2 not found at {BENCHMARK_V2} (expected ../shared/benchmark-v2 next to the repository)"


def dev_v2_case_files(*, in_scope_only: bool) -> list[Path]:
    """The v2 development case files in name order; ``in_scope_only`` leaves out gold ``other``."""
    import yaml

    files = sorted(DEV_V2.glob("*.yaml")) if DEV_V2.is_dir() else []
    if not in_scope_only:
        return files
    out = []
    for f in files:
        gold = (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("gold") or {}
        if gold.get("condition") != "other":
            out.append(f)
    return out


def painpath_cmd() -> list[str]:
    """The installed console script next to the running interpreter, else ``python -m painpath``."""
    exe = Path(sys.executable).parent / "painpath"
    if exe.is_file():
        return [str(exe)]
    return [sys.executable, "-m", "painpath"]


def run_cli(*args: str, input: str | None = None, cwd: Path | None = None, timeout: float = 60,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the painpath CLI; ``env`` adds to (or overrides) a copy of this process's environment."""
    full_env = dict(os.environ)
    full_env.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "PYTHONIOENCODING": "utf-8"})
    full_env.update(env or {})
    return subprocess.run(
        [*painpath_cmd(), *args],
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )


def shipped_kb_dir() -> Path:
    with resources.as_file(resources.files("painpath.kb") / "data") as p:
        return Path(p)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped knowledge-base YAML files."""
    dest = tmp_path / "kb"
    dest.mkdir()
    for f in shipped_kb_dir().glob("*.yaml"):
        shutil.copy(f, dest / f.name)
    return dest


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny test knowledge base."""
    dest = tmp_path / "tiny_kb"
    shutil.copytree(TINY_KB, dest)
    return dest


@pytest.fixture
def bench() -> Path:
    """The benchmark the knowledge base is checked against: v2 (which keeps every v1 key)."""
    if not (BENCHMARK_V2 / "conditions.yaml").is_file():
        pytest.skip(SKIP_NO_BENCH_V2)
    return BENCHMARK_V2


@pytest.fixture
def bench_v1() -> Path:
    if not (BENCHMARK / "conditions.yaml").is_file():
        pytest.skip(SKIP_NO_BENCH)
    return BENCHMARK


@pytest.fixture
def dev_dir() -> Path:
    if not DEV.is_dir() or not any(DEV.glob("*.yaml")):
        pytest.skip(SKIP_NO_BENCH)
    return DEV


# --- service tests: every storage and API test runs on SQLite and on the real local PostgreSQL --------------

PG_ADMIN_URL = os.environ.get("PAINPATH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_MISSING = (
    "PostgreSQL is not reachable at {url} ({err}). The storage and API tests run on both SQLite and PostgreSQL; "
    "start it (.ci/run does: pg_ctlcluster <version> main start) or set PAINPATH_TEST_POSTGRES=skip to skip "
    "the PostgreSQL half on purpose."
)


def _pg_available() -> str | None:
    import sqlalchemy as sa

    eng = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with eng.connect() as c:
            c.execute(sa.text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]
    finally:
        eng.dispose()


@pytest.fixture(scope="session")
def pg_url() -> object:
    """A fresh, migrated PostgreSQL database for this test session (dropped at the end)."""
    import uuid

    import sqlalchemy as sa

    from painpath.storage.db import upgrade

    if os.environ.get("PAINPATH_TEST_POSTGRES") == "skip":
        pytest.skip("PAINPATH_TEST_POSTGRES=skip: PostgreSQL half skipped on purpose")
    err = _pg_available()
    if err is not None:
        pytest.fail(PG_MISSING.format(url=PG_ADMIN_URL, err=err), pytrace=False)
    name = f"painpath_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from painpath.storage.db import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'painpath.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs twice: on SQLite and on PostgreSQL (databases shared within the session)."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def database(db_url: str):  # type: ignore[no-untyped-def]
    from painpath.storage.db import Database

    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture
def client(database, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A TestClient on the real app and database (no mocks)."""
    from fastapi.testclient import TestClient

    from painpath.api.app import create_app
    from painpath.config import Settings

    settings = Settings(data_dir=tmp_path, database_url=database.url, auto_migrate=False)
    with TestClient(create_app(settings, db=database)) as c:
        yield c


@pytest.fixture
def make_client(database, tmp_path: Path):  # type: ignore[no-untyped-def]
    """make_client(**settings) -> a TestClient on the real app and database with those settings, from its own
    client address (so rate limits, which the session's database counts per address, start from zero)."""
    from fastapi.testclient import TestClient

    from painpath.api.app import create_app
    from painpath.config import Settings

    opened: list[TestClient] = []

    def _make(**overrides: object) -> TestClient:
        settings = Settings(data_dir=tmp_path, database_url=database.url, auto_migrate=False, **overrides)  # type: ignore[arg-type]
        c = TestClient(create_app(settings, db=database), client=(unique("host"), 50000))
        c.__enter__()
        opened.append(c)
        return c

    yield _make
    for c in opened:
        c.__exit__(None, None, None)


def unique(prefix: str = "t") -> str:
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_clinic(database):  # type: ignore[no-untyped-def]
    """make_clinic() -> dict(slug, id, intake_code, admin_email, clinician_email, password) in a fresh clinic."""
    from painpath.storage import accounts

    def _make(role_users: tuple[str, ...] = ("admin", "clinician")) -> dict[str, object]:
        slug = unique("clinic")
        out: dict[str, object] = {"slug": slug, "password": "correct horse battery staple"}
        with database.write() as s:
            clinic = accounts.create_clinic(s, slug, f"Clinic {slug}")
            out.update(id=clinic.id, intake_code=clinic.intake_code)
            for role in role_users:
                email = f"{role}-{slug}@example.org"
                accounts.create_user(s, clinic, email, str(out["password"]), role=role)
                out[f"{role}_email"] = email
        return out

    return _make


def login(client, email: str, password: str = "correct horse battery staple") -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = client.post("/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
