"""`painpath serve`, `painpath db ...` and `painpath admin ...`: run and administer the service.

Every command says which database it uses (on standard error, so ``--json`` output stays clean). Admin
commands and ``db current``/``db check`` never create a database: on a missing one they stop and say how to
make it (``--create``, ``painpath db upgrade``) or how to point at the one meant (PAINPATH_DATA_DIR,
DATABASE_URL). Only ``serve``, ``db upgrade`` and ``--create`` make a new database.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from painpath.cli._common import fail

db_app = typer.Typer(help="Database: apply migrations, show the revision.", no_args_is_help=True)
admin_app = typer.Typer(help="Clinics, clinician users and API keys.", no_args_is_help=True)

CREATE_HELP = "Create the database (and apply migrations) if it does not exist yet."
Create = Annotated[bool, typer.Option("--create", help=CREATE_HELP)]


def _where(settings) -> str:
    """The database in words: the SQLite file (and that PAINPATH_DATA_DIR moves it), or the DATABASE_URL."""
    if settings.sqlite_path is not None:
        return f"{settings.sqlite_path} (SQLite; set PAINPATH_DATA_DIR or DATABASE_URL to use another)"
    return f"{_safe_url(settings.url)} (DATABASE_URL)"


def _say_database(settings) -> None:
    print(f"database: {_where(settings)}", file=sys.stderr)


def _database_missing(settings) -> bool:
    """True when there is no PainPath database yet: no SQLite file, or a server database without PainPath's
    tables. Looking never creates anything (SQLite is opened read-only)."""
    from painpath.storage.db import current_revision

    path = settings.sqlite_path
    if path is not None:
        if not path.is_file():
            return True
        return current_revision(f"sqlite:///file:{path}?mode=ro&uri=true") is None
    return current_revision(settings.url) is None


def _refuse_missing(settings) -> None:
    fail(f"no PainPath database at {_where(settings)}; nothing was created. For a new installation add --create "
         "to the command (or run `painpath db upgrade`); otherwise point PAINPATH_DATA_DIR or DATABASE_URL at "
         "your database")


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option("--reload", help="Restart on code changes (development).")] = False,
) -> None:
    """Start the web app and REST API (SQLite in PAINPATH_DATA_DIR unless DATABASE_URL is set)."""
    import uvicorn

    from painpath.config import get_settings
    from painpath.storage.db import current_revision, head_revision, upgrade

    settings = get_settings()
    try:
        if settings.auto_migrate:
            upgrade(settings.url)  # once, before workers start
        elif (have := current_revision(settings.url)) != (need := head_revision()):
            fail(f"database {_safe_url(settings.url)} is at revision {have or '(none)'}, this version needs {need}: "
                 "run `painpath db upgrade` (PAINPATH_AUTO_MIGRATE is false)")
    except Exception as exc:  # noqa: BLE001 - show the cause, not a traceback
        fail(f"database {_safe_url(settings.url)}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    os.environ.setdefault("PAINPATH_AUTO_MIGRATE", "false")
    for line in _unsafe_durability(settings.url):
        print(f"WARNING: {line}", file=sys.stderr)
    _say_database(settings)
    address = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    print(f"PainPath on {address}/  (API docs at {address}/docs)", file=sys.stderr)
    for line in _first_run_hint(settings.url, host, port):
        print(line, file=sys.stderr)
    uvicorn.run("painpath.asgi:app_factory", factory=True, host=host, port=port, workers=workers, reload=reload,
                **uvicorn_options(settings))


def uvicorn_options(settings) -> dict[str, Any]:
    """How uvicorn serves PainPath: X-Forwarded-For/-Proto believed only from PAINPATH_FORWARDED_ALLOW_IPS (the
    client address the rate limits count, https for Secure cookies and HSTS), and no Server header (no version
    or software disclosed to anonymous callers)."""
    return {"access_log": False, "log_level": "info", "proxy_headers": True,
            "forwarded_allow_ips": settings.forwarded_allow_ips, "server_header": False}


def _first_run_hint(url: str, host: str, port: int) -> list[str]:
    """While no clinic exists: where to create the first one (the set-up page answers only on this machine)."""
    from painpath.storage.accounts import clinic_exists

    try:
        if clinic_exists(url):
            return []
    except Exception:  # noqa: BLE001 - a hint must not stop the server
        return []
    local = host if host in ("127.0.0.1", "localhost", "::1") else "127.0.0.1"
    local = f"[{local}]" if ":" in local else local
    return ["No clinic yet. To create one and its first admin, open "
            f"http://{local}:{port}/setup in a browser on this machine (the page answers only on this machine and "
            "only until a clinic exists), or run: painpath admin create-clinic SLUG NAME, then painpath admin "
            "create-user SLUG EMAIL --role admin"]


def _unsafe_durability(url: str) -> list[str]:
    """A line per database setting that would lose acknowledged writes on a crash or power cut."""
    from painpath.storage.db import Database

    db = Database(url)
    try:
        return [f"database setting {s.name} = {s.value} ({s.why}); see docs/deployment.md"
                for s in db.durability() if not s.safe]
    except Exception as exc:  # noqa: BLE001 - the check must not stop a server that can otherwise start
        return [f"could not read the database's durability settings: {exc.__class__.__name__}"]
    finally:
        db.dispose()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply database migrations (also done automatically when the server starts)."""
    from painpath.config import get_settings
    from painpath.storage.db import current_revision, upgrade

    settings = get_settings()
    url = settings.url
    _say_database(settings)
    if settings.sqlite_path is not None and not settings.sqlite_path.is_file():
        print(f"creating a new SQLite database at {settings.sqlite_path}", file=sys.stderr)
    try:
        upgrade(url, revision)
    except Exception as exc:  # noqa: BLE001
        fail(f"database {_safe_url(url)}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    print(f"database {_safe_url(url)} at revision {current_revision(url)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision and the newest one this version has."""
    from painpath.config import get_settings
    from painpath.storage.db import current_revision, head_revision

    settings = get_settings()
    url = settings.url
    _say_database(settings)
    if settings.sqlite_path is not None and not settings.sqlite_path.is_file():
        fail(f"no database at {settings.sqlite_path} (nothing was created; `painpath db upgrade` creates it)")
    try:
        have = current_revision(url)
    except Exception as exc:  # noqa: BLE001
        fail(f"database {_safe_url(url)}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    print(f"database {_safe_url(url)}: revision {have or '(none)'}; newest {head_revision()}")


@db_app.command("check")
def db_check(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the settings that decide whether acknowledged writes survive a crash or power cut (exit 1 if unsafe)."""
    from painpath.config import get_settings
    from painpath.storage.db import Database

    config = get_settings()
    url = config.url
    _say_database(config)
    if config.sqlite_path is not None and not config.sqlite_path.is_file():
        fail(f"no database at {config.sqlite_path} (nothing was created; `painpath db upgrade` creates it)")
    db = Database(url)
    try:
        settings = db.durability()
    except Exception as exc:  # noqa: BLE001
        fail(f"database {_safe_url(url)}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    finally:
        db.dispose()
    if as_json:
        print(json.dumps({"database": _safe_url(url), "settings": [s.__dict__ for s in settings],
                          "safe": all(s.safe for s in settings)}, indent=2))
    else:
        print(f"database {_safe_url(url)}")
        for s in settings:
            print(f"  {'ok    ' if s.safe else 'UNSAFE'} {s.name} = {s.value}  ({s.why})")
    if not all(s.safe for s in settings):
        raise typer.Exit(1)


def _db(create: bool = False):
    """The database of an admin command, named on standard error. A missing one is created only with
    ``create`` (the command's --create); otherwise the command stops, with nothing created."""
    from painpath.config import get_settings
    from painpath.storage.db import Database, upgrade

    settings = get_settings()
    _say_database(settings)
    try:
        missing = _database_missing(settings)
    except Exception as exc:  # noqa: BLE001 - unreachable server, wrong password, ...
        fail(f"database {_safe_url(settings.url)}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    if missing and not create:
        _refuse_missing(settings)
    if missing:
        print(f"creating a new database at {_where(settings)}", file=sys.stderr)
    upgrade(settings.url)
    return Database(settings.url)


def _password(password_stdin: bool) -> str:
    """The new password; typed at a terminal it is checked against the rules before it is asked again."""
    from painpath.errors import ServiceError
    from painpath.storage import accounts

    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password (at least 10 characters): ")
    try:
        accounts.hash_password(first)  # the storage layer's own rules, checked before the second typing
    except ServiceError as exc:
        fail(str(exc))
    if getpass.getpass("Again: ") != first:
        fail("passwords do not match")
    return first


@admin_app.command("create-clinic")
def create_clinic(
    slug: Annotated[str, typer.Argument(help="Short name used in URLs, e.g. 'riverside-physio'.")],
    name: Annotated[str, typer.Argument(help="The clinic's display name.")],
    create: Create = False,
) -> None:
    """Create a clinic; prints its intake code (patients who start with it go straight to the clinic)."""
    from painpath.storage import accounts

    with _db(create=create).write() as s:
        clinic = accounts.create_clinic(s, slug, name)
        print(f"clinic {clinic.slug} created; intake code {accounts.format_code(clinic.intake_code)}")


@admin_app.command("create-user")
def create_user(
    clinic: Annotated[str, typer.Argument(help="Clinic slug.")],
    email: Annotated[str, typer.Argument(help="The clinician's email (their login).")],
    name: Annotated[str, typer.Option("--name")] = "",
    role: Annotated[str, typer.Option(
        "--role", help="clinician or admin (admins manage API keys, see the audit log).")] = "clinician",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
    create: Create = False,
) -> None:
    """Create a clinician user (the password is hashed with argon2id)."""
    from painpath.storage import accounts

    db = _db(create=create)  # first: say which database, and stop on a missing one before asking for a password
    password = _password(password_stdin)
    problems = accounts.user_problems(email, role, password)
    if problems:
        fail("; ".join(problems))
    pw_hash = accounts.hash_password(password)  # outside the write transaction: argon2 takes a while
    with db.write() as s:
        user = accounts.create_user(s, accounts.get_clinic(s, clinic), email, name=name, role=role,
                                    password_hash=pw_hash)
        print(f"user {user.email} ({user.role}) created in {clinic}")


@admin_app.command("create-token")
def create_token(
    clinic: Annotated[str, typer.Argument(help="Clinic slug.")],
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'EHR integration'.")],
    create: Create = False,
) -> None:
    """Create an API key for an integration; it is printed once and stored only as a hash."""
    from painpath.storage import accounts

    with _db(create=create).write() as s:
        tok, raw = accounts.issue_token(s, accounts.get_clinic(s, clinic).id, kind="api", name=name)
        print(f"API key {tok.id} for {clinic} (shown once, keep it safe):\n{raw}")


@admin_app.command("revoke-token")
def revoke_token(
    clinic: Annotated[str, typer.Argument(help="Clinic slug.")],
    token_id: Annotated[int, typer.Argument(help="The key's id (see list-tokens).")],
    create: Create = False,
) -> None:
    """Revoke an API key; it stops working at once."""
    from painpath.storage import accounts

    with _db(create=create).write() as s:
        accounts.revoke_token(s, accounts.get_clinic(s, clinic).id, token_id)
        print(f"API key {token_id} revoked")


@admin_app.command("list")
def list_all(as_json: Annotated[bool, typer.Option("--json")] = False, create: Create = False) -> None:
    """List clinics with their users and API keys (never the keys themselves)."""
    from sqlalchemy import select

    from painpath.storage import accounts
    from painpath.storage.models import Clinic, Token, User

    out = []
    with _db(create=create).read() as s:
        for c in s.scalars(select(Clinic).order_by(Clinic.slug)):
            users = [{"email": u.email, "role": u.role, "active": u.active}
                     for u in s.scalars(select(User).where(User.clinic_id == c.id).order_by(User.email))]
            keys = [{"id": t.id, "name": t.name, "prefix": t.prefix, "revoked": t.revoked_at is not None}
                    for t in s.scalars(select(Token).where(Token.clinic_id == c.id, Token.kind == "api"))]
            out.append({"slug": c.slug, "name": c.name, "intake_code": accounts.format_code(c.intake_code),
                        "users": users, "api_keys": keys})
    if as_json:
        print(json.dumps(out, indent=2))
        return
    if not out:
        print("no clinics yet (painpath admin create-clinic SLUG NAME, or the /setup page of `painpath serve`)")
    for c in out:
        print(f"{c['slug']}: {c['name']} (intake {c['intake_code']})")
        for u in c["users"]:
            print(f"  user {u['email']} {u['role']}{'' if u['active'] else ' (inactive)'}")
        for k in c["api_keys"]:
            print(f"  key {k['id']} {k['prefix']}… {k['name']}{' (revoked)' if k['revoked'] else ''}")


@contextmanager
def _admin_write():
    """A write transaction on the configured database (committed when the block ends); a refused operation
    exits with its message."""
    from painpath.errors import ServiceError

    db = _db()
    try:
        with db.write() as s:
            yield s
    except ServiceError as exc:
        fail(str(exc))
    finally:
        db.dispose()


def _user(s, email: str):
    from painpath.storage import accounts

    return accounts.get_user(s, None, email=email)


def _set_active(email: str, active: bool) -> str:
    from painpath.storage import accounts

    with _admin_write() as s:
        user = _user(s, email)
        accounts.set_active(s, user, active)
        return str(user.email)


@admin_app.command("deactivate-user")
def deactivate_user(email: Annotated[str, typer.Argument(help="The user's email.")]) -> None:
    """Deactivate a user: they cannot log in, their sessions and reset codes end at once."""
    print(f"user {_set_active(email, False)} deactivated; their sessions ended")


@admin_app.command("activate-user")
def activate_user(email: Annotated[str, typer.Argument(help="The user's email.")]) -> None:
    """Reactivate a deactivated user."""
    print(f"user {_set_active(email, True)} active")


@admin_app.command("reset-password")
def reset_password(email: Annotated[str, typer.Argument(help="The user's email.")]) -> None:
    """A one-time code for a new password (printed once, valid 24 hours); the old password and every session
    of the user end now. The user sets the new password at /clinic/reset or POST /v1/auth/reset-password."""
    from painpath.storage import accounts

    with _admin_write() as s:
        user = _user(s, email)
        code = accounts.start_password_reset(s, user)
        who = user.email
    print(f"one-time reset code for {who} (shown once, valid {accounts.RESET_HOURS} hours):\n{code}")


@admin_app.command("end-sessions")
def end_sessions(email: Annotated[str, typer.Argument(help="The user's email.")]) -> None:
    """End every login session of a user (they must log in again; the clinic's API keys are not affected)."""
    from painpath.storage import accounts

    with _admin_write() as s:
        user = _user(s, email)
        n = accounts.end_sessions(s, user)
        who = user.email
    print(f"{n} session(s) of {who} ended")
