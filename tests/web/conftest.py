"""Fixtures and helpers for the web-page tests: the real app on SQLite, browsers as TestClients, form parsing.

``web`` is the app with one browser (``web.browser``); ``web.new_browser()`` opens another one with no cookies
(another device). Pages are driven the way a browser does it: GET a page, parse its form, POST it back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from painpath.web.security import CSRF_COOKIE

PASSWORD = "correct horse battery staple"
AID = re.compile(r"/a/([0-9a-f-]{36})")


@pytest.fixture(scope="session")
def web_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated SQLite database for the web tests, in memory-backed /dev/shm when there is one (every answer
    is a committed write, and SQLite runs with synchronous=FULL, so a disk makes the page tests I/O bound)."""
    import shutil
    import tempfile

    from painpath.storage.db import upgrade

    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="painpath-web-", dir=shm)) if shm.is_dir() else tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'painpath.sqlite3'}"
    upgrade(url)
    yield url
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database(web_sqlite_url: str) -> Iterator[Any]:
    """Web tests run on SQLite only (this overrides the SQLite + PostgreSQL ``database`` of tests/conftest.py,
    so ``make_clinic`` uses it too)."""
    from painpath.storage.db import Database

    db = Database(web_sqlite_url)
    yield db
    db.dispose()


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for these tests (each clinic login otherwise costs ~0.3 s); the hashing code
    itself is unchanged and the production parameters are covered by the storage and API tests."""
    from argon2 import PasswordHasher

    from painpath.storage import accounts

    if hasattr(accounts, "_hasher"):
        monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- HTML forms -------------------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # every named input, with its value(s)
    hidden: dict[str, str] = field(default_factory=dict)
    checked: dict[str, str] = field(default_factory=dict)  # radio/checkbox inputs that are checked
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (name, value) of submit buttons


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._cur: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._cur = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._cur)
            return
        if self._cur is None:
            return
        if tag == "input" and a.get("name"):
            name, typ, value = a["name"], a.get("type", "text"), a.get("value", "")
            self._cur.fields.setdefault(name, []).append(value)
            if typ == "hidden":
                self._cur.hidden[name] = value
            if typ in ("radio", "checkbox") and "checked" in a:
                self._cur.checked[name] = value
        elif tag in ("button", "select", "textarea") and a.get("name"):
            if tag == "button" and a.get("type", "submit") == "submit":
                self._cur.buttons.append((a["name"], a.get("value", "")))
            else:
                self._cur.fields.setdefault(a["name"], [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._cur = None


def forms(html: str) -> list[Form]:
    p = _FormParser()
    p.feed(html)
    return p.forms


def form(html: str, action: str) -> Form:
    """The (first) form whose action ends with ``action``."""
    found = [f for f in forms(html) if f.action.endswith(action)]
    assert found, f"no form with action ending {action!r} in the page: {[f.action for f in forms(html)]}"
    return found[0]


# --- browsers ---------------------------------------------------------------------------------------------


class Browser:
    """A TestClient with its cookies, plus the steps a person takes in the web app."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:  # get, post, cookies ...
        return getattr(self.client, name)

    def csrf(self) -> str:
        tok = self.client.cookies.get(CSRF_COOKIE) or self.client.cookies.get("__Host-" + CSRF_COOKIE)
        if not tok:
            r = self.client.get("/")
            assert r.status_code == 200
            tok = self.client.cookies.get(CSRF_COOKIE) or self.client.cookies.get("__Host-" + CSRF_COOKIE)
        assert tok
        return tok

    def submit(self, url: str, data: dict[str, Any] | None = None, *, follow: bool = False,
               **kw: Any) -> httpx.Response:
        """POST a form with this browser's CSRF token (unless ``data`` gives its own ``csrf``)."""
        body = {"csrf": self.csrf(), **(data or {})}
        return self.client.post(url, data=body, follow_redirects=follow, **kw)

    # patient ------------------------------------------------------------------------------------------

    def start(self, age: int | str = 45, sex: str = "male", intake_code: str = "") -> str:
        """Fill in the start page; returns the new assessment id."""
        r = self.client.get("/" + (f"?clinic={intake_code}" if intake_code else ""))
        f = form(r.text, "/start")
        r = self.submit("/start", {**f.hidden, "age": str(age), "sex": sex})
        assert r.status_code == 303, r.text
        m = AID.search(r.headers["location"])
        assert m, r.headers["location"]
        return m.group(1)

    def where(self, aid: str, regions: list[str], side: str = "left", leg_worse: str = "unknown",
              pain_now: str = "") -> httpx.Response:
        """Tick the body map (the interview's first page, /a/{id}/s/where) and press Next."""
        r = self.client.get(f"/a/{aid}", follow_redirects=True)
        assert r.status_code == 200 and 'name="region"' in r.text, r.text[:500]
        assert r.url.path == f"/a/{aid}/s/where", r.url
        f = form(r.text, f"/a/{aid}/s/where")
        return self.submit(f.action, {**f.hidden, "region": regions, "side": side, "leg_worse": leg_worse,
                                      "pain_now": pain_now})

    def answer_screen(self, r: httpx.Response, aid: str, answers: dict[str, str], default: str = "absent",
                      follow: bool = True) -> httpx.Response:
        """Answer the screen page ``r`` by its form: a warning checklist ticks the findings answered present
        (and marks unknown ones "not sure", pressing "None of these" when there are none); a symptom screen
        answers each item (``answers[finding]`` or ``default``)."""
        f = [x for x in forms(r.text) if f"/a/{aid}/s/" in x.action]
        assert len(f) == 1, (r.url, [x.action for x in forms(r.text)])
        data: dict[str, Any] = dict(f[0].hidden)
        if "yes" in f[0].fields:
            items = f[0].fields["yes"]
            data["yes"] = [k for k in items if answers.get(k, default) == "present"]
            data["unsure"] = [k for k in items if answers.get(k, default) == "unknown"]
            data["go" if data["yes"] or data["unsure"] else "none"] = "1"
        else:
            for name in f[0].fields:
                if name.startswith("f_"):
                    data[name] = answers.get(name[2:], default)
        return self.submit(f[0].action, data, follow=follow)

    def answer_until_done(self, aid: str, answers: dict[str, str] | None = None, default: str = "absent",
                          limit: int = 60) -> httpx.Response:
        """Answer every screen page by its form until the interview ends; returns the final page (the result
        or the emergency page)."""
        answers = answers or {}
        r = self.client.get(f"/a/{aid}", follow_redirects=True)
        for _ in range(limit):
            if r.url.path.endswith(("/result", "/emergency")):
                return r
            assert r.status_code == 200, r.text[:500]
            r = self.answer_screen(r, aid, answers, default)
        raise AssertionError(f"the interview did not end within {limit} screens")

    def finished(self, regions: list[str] | None = None, answers: dict[str, str] | None = None,
                 **start: Any) -> str:
        """A whole interview: start, body map, every question; returns the assessment id."""
        aid = self.start(**start)
        r = self.where(aid, regions or ["low_back_pain"])
        assert r.status_code == 303, r.text[:500]
        r = self.answer_until_done(aid, answers)
        assert r.status_code == 200 and r.url.path.endswith(("/result", "/emergency"))
        return aid

    # clinician ----------------------------------------------------------------------------------------

    def login(self, email: str, password: str = PASSWORD, next: str = "/clinic") -> httpx.Response:
        r = self.client.get(f"/clinic/login?next={next}")
        f = form(r.text, "/clinic/login")
        return self.submit(f.action, {**f.hidden, "email": email, "password": password})


@dataclass
class Web:
    app: Any
    browser: Browser
    new_browser: Callable[..., Browser]
    database: Any
    settings: Any


@pytest.fixture
def web(database: Any, tmp_path: Path) -> Iterator[Web]:
    """The real app (API + web pages) on SQLite, with one browser; ``web.new_browser()`` opens another."""
    from painpath.api.app import create_app
    from painpath.config import Settings

    settings = Settings(data_dir=tmp_path, database_url=database.url, auto_migrate=False)
    app = create_app(settings, db=database)
    extra: list[TestClient] = []

    def new_browser(base_url: str = "http://testserver") -> Browser:
        c = TestClient(app, base_url=base_url)
        extra.append(c)
        return Browser(c)

    with TestClient(app) as main:
        yield Web(app=app, browser=Browser(main), new_browser=new_browser, database=database, settings=settings)
    for c in extra:
        c.close()


def set_cookie_headers(r: httpx.Response, name: str) -> list[str]:
    """The Set-Cookie header lines of response ``r`` for cookie ``name``."""
    return [h for h in r.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
