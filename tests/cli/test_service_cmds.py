"""`painpath db ...` and `painpath admin ...` against a real SQLite file and the session's PostgreSQL database."""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from painpath.storage.db import Database, head_revision
from tests.conftest import run_cli, unique

PASSWORD = "a long enough password"


def _sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {"PAINPATH_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}


def _one_error_line(r) -> str:  # type: ignore[no-untyped-def]
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [x for x in r.stderr.strip().splitlines() if not x.startswith("database: ")]  # which database: info
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def _parallel(*calls: dict, env: dict[str, str]) -> list:  # type: ignore[type-arg]
    """run_cli for each call (dict(args=..., input=...)) at the same time; results in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run_cli, *c["args"], input=c.get("input"), env=env) for c in calls]
        return [f.result() for f in futures]


def _api_key(stdout: str) -> tuple[int, str]:
    m = re.search(r"API key (\d+) for ", stdout)
    keys = re.findall(r"^(ppk_\S+)$", stdout, flags=re.M)
    assert m and len(keys) == 1, stdout
    return int(m.group(1)), keys[0]


def test_db_upgrade_creates_the_database(tmp_path):
    env = _sqlite_env(tmp_path)
    db_file = tmp_path / "painpath.sqlite3"
    assert not db_file.exists()
    r = run_cli("db", "upgrade", env=env)
    assert r.returncode == 0, r.stderr
    head = head_revision()
    assert db_file.is_file()
    assert r.stdout.strip().endswith(f"at revision {head}") and str(db_file) in r.stdout
    r = run_cli("db", "current", env=env)
    assert r.returncode == 0 and f"revision {head}; newest {head}" in r.stdout


def test_admin_commands_and_api_key_against_the_api(tmp_path):
    env = _sqlite_env(tmp_path)
    r = run_cli("admin", "create-clinic", "riverside-physio", "Riverside Physio", "--create", env=env)
    assert r.returncode == 0, r.stderr
    assert f"database: {tmp_path / 'painpath.sqlite3'}" in r.stderr and "creating a new database" in r.stderr
    m = re.search(r"clinic riverside-physio created; intake code ([A-Z0-9]{4}-[A-Z0-9]{4})", r.stdout)
    assert m, r.stdout
    intake = m.group(1)
    # independent commands run side by side (each CLI start costs most of a second)
    dup, user, short, token, bad = _parallel(
        dict(args=("admin", "create-clinic", "riverside-physio", "Again")),
        dict(args=("admin", "create-user", "riverside-physio", "Ann@Example.org", "--role", "admin", "--password-stdin"),
             input=PASSWORD + "\n"),
        dict(args=("admin", "create-user", "riverside-physio", "bob@example.org", "--password-stdin"), input="short\n"),
        dict(args=("admin", "create-token", "riverside-physio", "EHR integration")),
        dict(args=("admin", "create-user", "riverside-physio", "not-an-email", "--role", "boss", "--password-stdin"),
             input="short\n"),
        env=env)
    # a duplicate clinic is one error line and exit code 2
    err = _one_error_line(dup)
    assert "riverside-physio" in err and "already exists" in err
    # users: the password from standard input, hashed; too short is refused
    assert user.returncode == 0, user.stderr
    assert "ann@example.org (admin) created in riverside-physio" in user.stdout
    assert _one_error_line(short).startswith("error: password:")
    # every problem with a new user named at once
    err = _one_error_line(bad)
    assert "email:" in err and "role:" in err and "password:" in err
    # an API key, printed once
    assert token.returncode == 0, token.stderr
    key_id, raw = _api_key(token.stdout)

    from painpath.api.app import create_app
    from painpath.config import Settings
    from painpath.storage.models import Clinic, Token, User

    url = f"sqlite:///{tmp_path / 'painpath.sqlite3'}"
    db = Database(url)
    try:
        with db.read() as s:
            tok = s.get(Token, key_id)
            assert tok is not None and tok.token_hash == hashlib.sha256(raw.encode()).hexdigest()
            assert tok.kind == "api" and tok.name == "EHR integration"
            user_row = s.scalar(select(User).where(User.email == "ann@example.org"))
            assert user_row is not None and user_row.role == "admin" and PASSWORD not in user_row.password_hash
            assert user_row.password_hash.startswith("$argon2id$")
            assert s.scalar(select(Clinic.intake_code).where(Clinic.slug == "riverside-physio")) == intake.replace("-", "")
            assert s.scalar(select(User).where(User.email == "bob@example.org")) is None
        settings = Settings(data_dir=tmp_path, database_url=url, auto_migrate=False)
        with TestClient(create_app(settings, db=db), client=(unique("host"), 50000)) as c:
            kh = {"Authorization": f"Bearer {raw}"}
            r = c.get("/v1/clinic", headers=kh)
            assert r.status_code == 200 and r.json()["slug"] == "riverside-physio"
            assert r.json()["intake_code"] == intake  # one spelling of the code everywhere
            assert c.post("/v1/auth/login", json={"email": "ann@example.org", "password": PASSWORD}).status_code == 200
            r = c.post("/v1/assessments", headers=kh, json={"age": 40, "sex": "male", "patient_ref": "EHR-1"})
            assert r.status_code == 201 and r.json()["assessment"]["shared_with_clinic"] is True

            # the list shows the key by its prefix, never the key itself
            r = run_cli("admin", "list", "--json", env=env)
            assert r.returncode == 0, r.stderr
            assert raw not in r.stdout and raw[10:] not in r.stdout
            listed = json.loads(r.stdout)
            clinic = next(x for x in listed if x["slug"] == "riverside-physio")
            assert clinic["users"] == [{"email": "ann@example.org", "role": "admin", "active": True}]
            assert clinic["api_keys"] == [{"id": key_id, "name": "EHR integration", "prefix": raw[:10], "revoked": False}]
            assert clinic["intake_code"] == intake
            r = run_cli("admin", "list", env=env)
            assert f"riverside-physio: Riverside Physio (intake {intake})" in r.stdout

            # revoking stops the key at once, for the running app too
            r = run_cli("admin", "revoke-token", "riverside-physio", str(key_id), env=env)
            assert r.returncode == 0 and f"API key {key_id} revoked" in r.stdout
            assert c.get("/v1/clinic", headers=kh).status_code == 401
            with db.read() as s:
                assert s.get(Token, key_id).revoked_at is not None  # type: ignore[union-attr]
    finally:
        db.dispose()


def test_admin_commands_on_postgresql(tmp_path, pg_url):
    env = {"DATABASE_URL": pg_url, "PAINPATH_DATA_DIR": str(tmp_path)}
    slug = unique("pgclinic")
    # the session database is migrated already, so upgrading and an admin command may run side by side
    r, made = _parallel(dict(args=("db", "upgrade")), dict(args=("admin", "create-clinic", slug, "PG Clinic")), env=env)
    assert r.returncode == 0, r.stderr
    assert f"at revision {head_revision()}" in r.stdout and "postgresql" in r.stdout
    assert made.returncode == 0, made.stderr
    dup, r = _parallel(dict(args=("admin", "create-clinic", slug, "Again")),
                       dict(args=("admin", "create-token", slug, "integration")), env=env)
    assert "already exists" in _one_error_line(dup)
    assert r.returncode == 0, r.stderr
    key_id, raw = _api_key(r.stdout)
    r = run_cli("admin", "list", "--json", env=env)
    assert r.returncode == 0 and raw not in r.stdout
    assert any(x["slug"] == slug and x["api_keys"][0]["id"] == key_id for x in json.loads(r.stdout))
    assert not (tmp_path / "painpath.sqlite3").exists()  # DATABASE_URL wins over the data directory

    from painpath.storage.accounts import resolve_token

    db = Database(pg_url)
    try:
        with db.read() as s:
            who = resolve_token(s, raw)
            assert who is not None and who.kind == "api"
        assert run_cli("admin", "revoke-token", slug, str(key_id), env=env).returncode == 0
        with db.read() as s:
            assert resolve_token(s, raw) is None
    finally:
        db.dispose()


def test_invalid_settings_are_named_not_a_traceback(tmp_path):
    """A bad environment variable stops `serve` and `db` commands with one line naming it (exit 2)."""
    base = _sqlite_env(tmp_path)
    r = run_cli("serve", "--port", "1", env={**base, "PAINPATH_DB_POOL_SIZE": "abc", "PAINPATH_SESSION_HOURS": "0"})
    line = _one_error_line(r)
    assert "PAINPATH_DB_POOL_SIZE: Input should be a valid integer" in line and "(got 'abc')" in line
    assert "PAINPATH_SESSION_HOURS: Input should be greater than or equal to 1" in line
    line = _one_error_line(run_cli("db", "check", env={**base, "PAINPATH_CDS_ISSUERS": "{not json"}))
    assert line.startswith("error: invalid setting PAINPATH_CDS_ISSUERS: not valid JSON"), line
    assert not (tmp_path / "painpath.sqlite3").exists(), "nothing was created with invalid settings"


# --- one data home: the same database wherever a command runs, never created by accident ------------------

def _home_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment with no PAINPATH_DATA_DIR and a home of its own: the default data directory applies."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"PAINPATH_DATA_DIR": "", "DATABASE_URL": "", "HOME": str(home), "XDG_DATA_HOME": ""}
    return env, home / ".local" / "share" / "painpath" / "painpath.sqlite3"


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_admin_list_from_another_directory_names_the_database_and_creates_none(tmp_path):
    env, default_db = _home_env(tmp_path)
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    before = _files(tmp_path)
    r = run_cli("admin", "list", env=env, cwd=elsewhere)
    line = _one_error_line(r)
    assert f"database: {default_db} (SQLite" in r.stdout + r.stderr
    assert f"no PainPath database at {default_db}" in line and "nothing was created" in line and "--create" in line
    assert _files(tmp_path) == before, "nothing was created, here or in the data directory"
    assert not default_db.parent.exists()

    # asked to, it creates the database in the data directory, not in the working directory
    r = run_cli("admin", "create-clinic", "riverside", "Riverside Physio", "--create", env=env, cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert default_db.is_file() and not list(elsewhere.iterdir())
    # and every other directory sees the same clinic
    for cwd in (tmp_path, elsewhere.parent):
        r = run_cli("admin", "list", env=env, cwd=cwd)
        assert r.returncode == 0, r.stderr
        assert f"database: {default_db}" in r.stderr and r.stdout.startswith("riverside: Riverside Physio")


def test_data_dir_setting_moves_the_database(tmp_path):
    data = tmp_path / "clinic-data"
    env = {"PAINPATH_DATA_DIR": str(data), "DATABASE_URL": ""}
    r = run_cli("admin", "list", "--create", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"database: {data / 'painpath.sqlite3'}" in r.stderr and "no clinics yet" in r.stdout
    r = run_cli("admin", "list", "--json", env=env, cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout) == []  # the database line is on stderr, the JSON stays clean


def test_db_commands_other_than_upgrade_create_nothing(tmp_path):
    env = _sqlite_env(tmp_path)
    for args in (("db", "current"), ("db", "check"), ("admin", "create-token", "x", "y"),
                 ("admin", "revoke-token", "x", "1")):
        r = run_cli(*args, env=env)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert f"database: {tmp_path / 'painpath.sqlite3'}" in r.stderr, args
        assert "Traceback" not in r.stderr
    r = run_cli("admin", "create-user", "x", "a@b.example", "--password-stdin", input="a long enough password\n", env=env)
    assert r.returncode == 2 and "no PainPath database" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_password_rule_is_checked_before_it_is_typed_again(monkeypatch):
    """At a terminal, a too-short password is refused after the first typing, not after both."""
    import pytest

    from painpath.cli import serve_cmd

    asked: list[str] = []
    monkeypatch.setattr(serve_cmd.getpass, "getpass", lambda prompt: asked.append(prompt) or "short")
    with pytest.raises(SystemExit) as exc:
        serve_cmd._password(False)
    assert exc.value.code == 2 and asked == ["Password (at least 10 characters): "]
    asked.clear()
    monkeypatch.setattr(serve_cmd.getpass, "getpass", lambda prompt: asked.append(prompt) or "long enough, this")
    assert serve_cmd._password(False) == "long enough, this" and len(asked) == 2


def test_serve_names_its_database_and_the_first_run_page(tmp_path):
    """`painpath serve` on an empty data directory says where the database is and how to create the clinic."""
    import os
    import signal
    import socket
    import subprocess
    import time

    from tests.conftest import painpath_cmd

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PAINPATH_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "NO_COLOR": "1"}
    proc = subprocess.Popen([*painpath_cmd(), "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("No clinic yet" in x for x in lines):
            line = proc.stderr.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        proc.stderr.close()  # type: ignore[union-attr]
    text = "".join(lines)
    assert f"database: {tmp_path / 'painpath.sqlite3'}" in text, text
    assert f"PainPath on http://127.0.0.1:{port}/" in text
    assert f"open http://127.0.0.1:{port}/setup in a browser on this machine" in text
