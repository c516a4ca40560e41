"""The first-run page (/setup): only while no clinic exists, only from this machine, CSRF-protected, every
problem reported at once; afterwards the new admin logs in and the page is gone for good (GET leads to the
login page, POST answers 404 and creates nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from painpath.web.security import CSRF_COOKIE
from tests.web.conftest import form

LOCAL = "http://127.0.0.1:8000"
PASSWORD = "a long enough passphrase"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A new, migrated database holding no clinic (a fresh SQLite file, or a fresh PostgreSQL database)."""
    import sqlalchemy as sa

    from painpath.storage.db import Database, upgrade
    from tests.conftest import PG_ADMIN_URL

    admin = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'painpath.sqlite3'}"
    else:
        request.getfixturevalue("pg_url")  # skips or fails as the other PostgreSQL tests do
        name = f"painpath_setup_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    db = Database(url)
    yield db
    db.dispose()
    if admin is not None:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def app(empty_db: Any, tmp_path: Path) -> Any:
    from painpath.api.app import create_app
    from painpath.config import Settings

    return create_app(Settings(data_dir=tmp_path, database_url=empty_db.url, auto_migrate=False), db=empty_db)


def browser(app: Any, base_url: str = LOCAL, host: str = "127.0.0.1") -> TestClient:
    return TestClient(app, base_url=base_url, client=(host, 50000))


def _fill(c: TestClient, **values: str) -> Any:
    r = c.get("/setup")
    assert r.status_code == 200, r.text
    f = form(r.text, "/setup")
    data = {"clinic_name": "Riverside Physio", "slug": "", "name": "Lee", "email": "lee@riverside.example",
            "password": PASSWORD, "password_again": PASSWORD, **values}
    return c.post("/setup", data={**f.hidden, **data}, follow_redirects=False)


def test_first_run_creates_the_clinic_and_its_admin_who_can_log_in(app: Any) -> None:
    with browser(app) as c:
        # the login page leads to the set-up page while no clinic exists
        r = c.get("/clinic/login", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/setup"
        page = c.get("/setup")
        # the password rule is shown before anything is typed, and the browser checks it too
        assert "At least 10 characters" in page.text
        assert page.text.count('minlength="10"') == 2
        assert "csrf" in form(page.text, "/setup").hidden

        r = _fill(c)
        assert r.status_code == 200, r.text
        assert "Clinic created" in r.text and "lee@riverside.example" in r.text
        from sqlalchemy import select

        from painpath.storage.models import Clinic, User

        with app.state.db.read() as s:
            clinics = s.scalars(select(Clinic)).all()
            assert [(x.slug, x.name) for x in clinics] == [("riverside-physio", "Riverside Physio")]
            user = s.scalar(select(User))
            assert user is not None and user.role == "admin" and user.clinic_id == clinics[0].id
            assert PASSWORD not in user.password_hash
            code = clinics[0].intake_code
        assert f"{code[:4]}-{code[4:]}" in r.text  # the intake code, spelled as everywhere else

        # gone for good: GET leads to the login page, POST is 404, and the login page is the login page again
        assert _gone(c)
        assert _post_blind(c).status_code == 404
        r = c.get("/clinic/login", follow_redirects=False)
        assert r.status_code == 200 and "Clinician login" in r.text
        f = form(r.text, "/clinic/login")
        r = c.post("/clinic/login", data={**f.hidden, "email": "lee@riverside.example", "password": PASSWORD},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/clinic"
        listing = c.get("/clinic").text
        assert "Riverside Physio" in listing and f"/?clinic={code[:4]}-{code[4:]}" in listing


def _gone(c: TestClient) -> bool:
    """The set-up page is not shown: GET /setup leads to the login page."""
    r = c.get("/setup", follow_redirects=False)
    return r.status_code == 303 and r.headers["location"] == "/clinic/login" and "Set up" not in r.text


def _post_blind(c: TestClient) -> Any:
    """A complete, valid set-up form with a valid CSRF token, sent without loading the page first."""
    tok = c.cookies.get(CSRF_COOKIE) or "x" * 32
    c.cookies.set(CSRF_COOKIE, tok)
    return c.post("/setup", data={"csrf": tok, "clinic_name": "Second", "email": "eve@example.org",
                                  "password": PASSWORD, "password_again": PASSWORD}, follow_redirects=False)


def test_a_second_app_sees_the_clinic_made_by_the_first(app: Any, empty_db: Any, tmp_path: Path) -> None:
    """Another worker (its own app, same database) refuses the page once a clinic exists."""
    from painpath.api.app import create_app
    from painpath.config import Settings

    other = create_app(Settings(data_dir=tmp_path, database_url=empty_db.url, auto_migrate=False), db=empty_db)
    with browser(other) as c2:
        assert c2.get("/setup").status_code == 200  # while there is no clinic
        with browser(app) as c1:
            assert _fill(c1).status_code == 200
        assert _gone(c2)
        assert _post_blind(c2).status_code == 404


def test_every_problem_is_reported_at_once_and_nothing_is_created(app: Any) -> None:
    with browser(app) as c:
        r = _fill(c, clinic_name=" ", slug="-Bad Slug", email="not-an-email", password="short", password_again="")
        assert r.status_code == 422
        for needle in ("Enter the clinic", "lower-case letters", "Enter a valid email", "at least 10 characters"):
            assert needle in r.text, needle
        assert r.text.count('aria-invalid="true"') == 4
        assert 'value="short"' not in r.text  # passwords are never echoed back
        assert 'value="Riverside Physio"' not in r.text and 'value="not-an-email"' in r.text  # the rest is kept
        r = _fill(c, password_again=PASSWORD + "!")
        assert r.status_code == 422 and "The two passwords are not the same." in r.text
        assert c.get("/setup").status_code == 200  # still no clinic


def test_the_form_needs_its_csrf_token(app: Any) -> None:
    with browser(app) as c:
        c.get("/setup")
        r = c.post("/setup", data={"csrf": "forged-token-forged-token", "clinic_name": "X", "email": "a@b.example",
                                   "password": PASSWORD, "password_again": PASSWORD}, follow_redirects=False)
        assert r.status_code == 403
        assert c.get("/setup").status_code == 200  # nothing was created


@pytest.mark.parametrize(
    ("base_url", "host", "headers"),
    [
        ("http://testserver", "203.0.113.7", {}),  # another machine
        ("http://clinic.example:8000", "127.0.0.1", {}),  # a loopback client asking for another host name
        (LOCAL, "127.0.0.1", {"X-Forwarded-For": "203.0.113.7"}),  # through a proxy on this machine
        (LOCAL, "127.0.0.1", {"Forwarded": "for=203.0.113.7"}),
    ],
    ids=["remote", "rebound-host", "x-forwarded-for", "forwarded"],
)
def test_only_this_machine_gets_the_page(app: Any, base_url: str, host: str, headers: dict[str, str]) -> None:
    with browser(app, base_url, host) as c:
        c.headers.update(headers)
        assert _gone(c)
        assert _post_blind(c).status_code == 404
        r = c.get("/clinic/login", follow_redirects=False)
        assert r.status_code == 200  # no redirect to the set-up page either
    with browser(app) as local:
        assert local.get("/setup").status_code == 200  # the control: from this machine it is there


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_loopback_addresses(app: Any, host: str) -> None:
    base = LOCAL if host == "127.0.0.1" else "http://[::1]:8000"
    with browser(app, base, host) as c:
        assert c.get("/setup").status_code == 200
