"""Web sessions and passwords: an expired, revoked or forged session cookie (or a deactivated user's) sends the
browser to the login page and does nothing; the password policy holds in ``accounts.create_user`` and
``painpath admin create-user``; failed logins on the web page lock the email out (429 page with Retry-After),
even for the right password, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, update

from painpath.errors import ServiceError
from painpath.storage import accounts
from painpath.storage.accounts import hash_secret
from painpath.storage.models import Token, User
from painpath.web.security import SESSION_COOKIE
from tests.conftest import unique
from tests.security.conftest import PASSWORD, Browser, Site, finish_via_api


def _logged_in(site: Site, clinic: dict[str, Any]) -> Browser:
    b = site.browser()
    r = b.web_login(str(clinic["clinician_email"]))
    assert r.status_code == 303 and r.headers["location"] == "/clinic"
    assert b.get("/clinic").status_code == 200
    return b


def _sent_to_login(b: Browser, aid: str, what: str) -> None:
    for path in ("/clinic", f"/clinic/a/{aid}", f"/clinic/a/{aid}/report", "/clinic/export.csv"):
        r = b.get(path, follow_redirects=False)
        assert r.status_code == 303, (what, path, r.status_code)
        assert r.headers["location"].startswith("/clinic/login?next=/clinic"), (what, path, r.headers["location"])
        assert aid not in r.text
    # a form of the clinic does nothing either: the exam findings are not added (a session cookie swapped
    # under the page makes its CSRF token, bound to the earlier session, invalid: 403)
    r = b.submit(f"/clinic/a/{aid}/exam", {"f_slr_positive": "present"})
    if what in ("forged", "patient token"):
        assert r.status_code == 403 and "csrf" in r.text, (what, r.status_code)
    else:
        assert r.status_code == 303 and r.headers["location"].startswith("/clinic/login"), (what, r.status_code)


def _token_row(site: Site, raw: str) -> Any:
    with site.database.read() as s:
        return s.scalar(select(Token).where(Token.token_hash == hash_secret(raw)))


@pytest.mark.parametrize("how", ["expired", "revoked", "user deactivated", "forged", "patient token"])
def test_a_dead_session_cookie_goes_back_to_the_login_page(site: Site, make_clinic: Any, how: str) -> None:
    clinic = make_clinic()
    b = _logged_in(site, clinic)
    raw = b.cookies.get(SESSION_COOKIE)
    assert raw and _token_row(site, raw).kind == "session"
    rec = finish_via_api(b.client, intake_code=str(clinic["intake_code"]))
    assert b.get(f"/clinic/a/{rec['id']}").status_code == 200
    with site.database.write() as s:
        if how == "expired":  # the cookie is still in the browser (its max-age is longer), the row has expired
            s.execute(update(Token).where(Token.token_hash == hash_secret(raw))
                      .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        elif how == "revoked":
            s.execute(update(Token).where(Token.token_hash == hash_secret(raw)).values(revoked_at=dt.datetime.now(dt.UTC)))
        elif how == "user deactivated":
            s.execute(update(User).where(User.email == clinic["clinician_email"]).values(active=False))
    if how in ("forged", "patient token"):
        b.cookies.delete(SESSION_COOKIE)
        b.cookies.set(SESSION_COOKIE, "pps_" + "A" * 43 if how == "forged" else rec["token"])
    _sent_to_login(b, rec["id"], how)
    with site.database.read() as s:
        assert s.scalar(select(func.count()).select_from(Token).where(Token.token_hash == hash_secret(raw))) == 1
    # nor does the same token work as an API bearer token
    assert b.get("/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == (200 if how in (
        "forged", "patient token") else 401)


def test_an_almost_expired_session_still_works_and_the_cookie_does_not_outlive_it(site: Site,
                                                                                   make_clinic: Any) -> None:
    clinic = make_clinic()
    b = site.browser()
    r = b.web_login(str(clinic["clinician_email"]))
    line = next(h for h in r.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}="))
    max_age = int(line.lower().split("max-age=")[1].split(";")[0])
    tok = _token_row(site, b.cookies.get(SESSION_COOKIE))
    lifetime = (tok.expires_at - tok.created_at).total_seconds()
    assert abs(max_age - lifetime) < 5, (max_age, lifetime)  # the browser forgets it when the server does
    with site.database.write() as s:
        s.execute(update(Token).where(Token.id == tok.id)
                  .values(expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)))
    assert b.get("/clinic").status_code == 200


# --- password policy ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "ok"), [
    ("", False), ("short", False), ("x" * 9, False), ("x" * 10, True), ("é" * 10, True), ("x" * 1024, True),
    ("x" * 1025, False),
])
def test_password_length_policy(site: Site, password: str, ok: bool) -> None:
    slug = unique("pw")
    with site.database.write() as s:
        clinic = accounts.create_clinic(s, slug, "Password policy")
        if ok:
            accounts.create_user(s, clinic, f"u@{slug}.example.org", password)
            return
        with pytest.raises(ServiceError, match="password"):
            accounts.create_user(s, clinic, f"u@{slug}.example.org", password)
    with site.database.read() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.email == f"u@{slug}.example.org")) == 0


def test_admin_create_user_refuses_short_passwords(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """``painpath admin create-user`` in process, on this test's database: 9 characters are refused (nothing is
    written), 10 are accepted."""
    from typer.testing import CliRunner

    from painpath.cli import app, serve_cmd
    from painpath.config import get_settings

    slug = unique("cli-pw")
    with site.database.write() as s:
        accounts.create_clinic(s, slug, "CLI password policy")
    monkeypatch.setenv("DATABASE_URL", site.database.url)
    get_settings.cache_clear()
    opened: list[Any] = []  # the command's own Database: closed here (a process would simply exit)
    real_db = serve_cmd._db
    monkeypatch.setattr(serve_cmd, "_db", lambda **kw: opened.append(real_db(**kw)) or opened[-1])
    try:
        runner = CliRunner()
        args = ["admin", "create-user", slug, f"short@{slug}.example.org", "--password-stdin"]
        r = runner.invoke(app, args, input="x" * 9 + "\n")
        assert r.exit_code == 2
        assert "error: password: must be at least 10 characters" in r.output, r.output
        ok = ["admin", "create-user", slug, f"ok@{slug}.example.org", "--password-stdin"]
        r = runner.invoke(app, ok, input="x" * 10 + "\n")
        assert r.exit_code == 0, r.output
    finally:
        get_settings.cache_clear()
        for db in opened:
            db.dispose()
    with site.database.read() as s:
        emails = set(s.scalars(select(User.email).where(User.email.like(f"%@{slug}.example.org"))))
    assert emails == {f"ok@{slug}.example.org"}


# --- lockout --------------------------------------------------------------------------------------------------


def test_failed_web_logins_lock_the_email_out(site: Site, make_clinic: Any) -> None:
    clinic = make_clinic()
    email = str(clinic["clinician_email"])
    attempts = site.app.state.settings.login_attempts
    b = site.browser()
    for i in range(attempts):
        r = b.web_login(email, password=f"wrong password {i}")
        assert r.status_code == 401, (i, r.status_code)
    r = b.web_login(email, password="wrong again")
    assert r.status_code == 429 and r.headers["content-type"].startswith("text/html")
    assert "Too many attempts" in r.text
    retry = int(r.headers["retry-after"])
    assert 0 < retry <= site.app.state.settings.login_window_seconds + 1
    # locked even with the right password, on the web page and through the API, and no session is given
    r = b.web_login(email, password=PASSWORD)
    assert r.status_code == 429 and not [h for h in r.headers.get_list("set-cookie")
                                         if h.startswith(f"{SESSION_COOKIE}=")]
    r = b.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 429 and r.headers["content-type"].startswith("application/problem+json")
    # the email and address count together: another address is not locked, nor another email from this one
    assert site.browser().web_login(email).status_code == 303
    assert b.web_login(str(clinic["admin_email"])).status_code == 303
