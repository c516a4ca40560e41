"""Fixtures of the security tests: the real app on SQLite and PostgreSQL (``database`` of tests/conftest.py),
browsers with their own cookies and client address, and helpers to enumerate the web routes.

Every browser gets its own client address: failed logins and bad tokens are rate-limited per address in the
database the whole session shares, and these tests make many of them on purpose.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from painpath.web.security import CSRF_COOKIE

PASSWORD = "correct horse battery staple"
API_PREFIXES = ("/v1", "/fhir", "/cds-services", "/docs", "/redoc", "/openapi", "/static")
AID = re.compile(r"/a/([0-9a-f-]{36})")


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters (a login otherwise costs ~0.4 s); the policy checks do not depend on them."""
    from argon2 import PasswordHasher

    from painpath.storage import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("dummy password"))


class Browser:
    """A TestClient with its own cookies and client address."""

    def __init__(self, app: Any, base_url: str = "http://testserver") -> None:
        n = uuid.uuid4().int
        self.client = TestClient(app, base_url=base_url, client=(f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250}",
                                                                 50000))

    def __getattr__(self, name: str) -> Any:  # get, post, request, cookies ...
        return getattr(self.client, name)

    def csrf(self) -> str:
        tok = self.client.cookies.get(CSRF_COOKIE) or self.client.cookies.get("__Host-" + CSRF_COOKIE)
        if not tok:
            assert self.client.get("/").status_code == 200
            tok = self.client.cookies.get(CSRF_COOKIE) or self.client.cookies.get("__Host-" + CSRF_COOKIE)
        assert tok
        return tok  # type: ignore[no-any-return]

    def submit(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        """POST a form with this browser's CSRF token (unless ``data`` has its own ``csrf``)."""
        return self.client.post(url, data={"csrf": self.csrf(), **(data or {})}, follow_redirects=False, **kw)

    def web_login(self, email: str, password: str = PASSWORD, next: str = "/clinic") -> httpx.Response:
        return self.submit("/clinic/login", {"email": email, "password": password, "next": next})

    def api_login(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        r = self.client.post("/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def patient_headers(self, aid: str) -> dict[str, str]:
        """The bearer header of this browser's patient token for assessment ``aid`` (from its cookie)."""
        from painpath.web.security import PATIENT_COOKIE

        for tok in (self.client.cookies.get(PATIENT_COOKIE) or "").split("."):
            r = self.client.get(f"/v1/assessments/{aid}", headers={"Authorization": f"Bearer {tok}"})
            if r.status_code == 200:
                return {"Authorization": f"Bearer {tok}"}
        raise AssertionError(f"no patient token for {aid} in this browser")

    def start(self, age: int = 45, sex: str = "male", intake_code: str = "") -> str:
        """Start an assessment with the web form (the browser keeps its patient cookie); returns its id."""
        r = self.submit("/start", {"age": str(age), "sex": sex, "intake_code": intake_code})
        assert r.status_code == 303, r.text[:300]
        m = AID.search(r.headers["location"])
        assert m
        return m.group(1)


@dataclass
class Site:
    app: Any
    database: Any
    browsers: list[Browser]

    def browser(self, base_url: str = "http://testserver") -> Browser:
        b = Browser(self.app, base_url)
        b.client.__enter__()
        self.browsers.append(b)
        return b


@pytest.fixture
def site(database: Any, tmp_path: Path) -> Iterator[Site]:
    """The real app (API, web pages, FHIR) on the test database; ``site.browser()`` opens a browser."""
    from painpath.api.app import create_app
    from painpath.config import Settings

    settings = Settings(data_dir=tmp_path, database_url=database.url, auto_migrate=False)
    s = Site(create_app(settings, db=database), database, [])
    yield s
    for b in s.browsers:
        b.client.__exit__(None, None, None)


# --- helpers -------------------------------------------------------------------------------------------------


def web_routes(app: Any, method: str) -> list[str]:
    """Path templates of the web pages (not the API, FHIR, CDS Hooks, docs or static files) that take ``method``,
    from ``app.routes`` (FastAPI's included routers are walked to their routes)."""
    out: list[str] = []
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for ctx in contexts:
            path = getattr(ctx, "path", "")
            methods = getattr(getattr(ctx, "original_route", ctx), "methods", None) or set()
            if method in methods and path and not path.startswith(API_PREFIXES):
                out.append(path)
    return sorted(set(out))


def fill(template: str, **values: str) -> str:
    """A path template with its parameters filled in (every parameter must be given)."""
    def sub(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        assert name in values, f"no value for {{{name}}} in {template}"
        return values[name]
    return re.sub(r"\{([^}]+)\}", sub, template)


def raw_get(app: Any, path: str) -> tuple[int, bytes, dict[str, str]]:
    """GET ``path`` exactly as written (no client-side normalisation of '..' or '%2e'), straight into the app."""

    async def call() -> tuple[int, bytes, dict[str, str]]:
        sent: list[dict[str, Any]] = []
        done = asyncio.Event()
        requested = False
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": path, "raw_path": path.encode("utf-8", "surrogateescape"), "query_string": b"",
                 "root_path": "", "headers": [(b"host", b"testserver")], "server": ("testserver", 80),
                 "client": ("10.8.0.1", 50000)}

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # the response is complete: the client goes away
            return {"type": "http.disconnect"}

        async def send(msg: dict[str, Any]) -> None:
            sent.append(msg)
            if msg["type"] == "http.response.body" and not msg.get("more_body"):
                done.set()

        await asyncio.wait_for(app(scope, receive, send), timeout=10)
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], body, {k.decode(): v.decode() for k, v in start["headers"]}

    return asyncio.run(call())


def finish_via_api(client: Any, intake_code: str | None = None, answers: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None, **create: Any) -> dict[str, Any]:
    """A finished assessment made through the API; returns id, patient token and headers, share code."""
    body: dict[str, Any] = {"age": 52, "sex": "female", **create}
    if intake_code:
        body["intake_code"] = intake_code
    r = client.post("/v1/assessments", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    out = r.json()
    aid, h = out["assessment"]["id"], {"Authorization": f"Bearer {out['patient_token']}"}
    use = headers or h
    r = client.put(f"/v1/assessments/{aid}/answers", headers=use,
                   json={"answers": answers or {"low_back_pain": "present", "pain_below_knee": "absent"}})
    assert r.status_code == 200, r.text
    r = client.post(f"/v1/assessments/{aid}/finish", headers=use)
    assert r.status_code == 200, r.text
    return {"id": aid, "token": out["patient_token"], "patient": h, "share_code": out["share_code"]}
