"""The web app's own defences, over every route it has (enumerated from ``app.routes``, so a new page is covered
as soon as it exists): CSRF on every POST form, security headers on every page, no path traversal out of
/static, no open redirect through ``next``."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import func, select

from painpath.storage.models import AssessmentRecord, Token
from painpath.web.security import CSRF_COOKIE, PATIENT_COOKIE, SESSION_COOKIE
from tests.security.conftest import Browser, Site, fill, finish_via_api, raw_get, web_routes

EVIL = "https://evil.example"


@pytest.fixture
def people(site: Site, make_clinic: Any) -> dict[str, Any]:
    """A clinic with a logged-in clinician and administrator; a patient browser whose finished assessment went to
    the clinic; an unclaimed assessment's share code."""
    from sqlalchemy import select as sql_select

    from painpath.storage.models import User

    clinic = make_clinic()
    doc = site.browser()
    assert doc.web_login(str(clinic["clinician_email"])).status_code == 303
    admin = site.browser()
    assert admin.web_login(str(clinic["admin_email"])).status_code == 303
    with site.database.read() as s:
        doc_id = s.scalar(sql_select(User.id).where(User.email == clinic["clinician_email"]))
    patient = site.browser()
    aid = patient.start(intake_code=str(clinic["intake_code"]))
    h = patient.patient_headers(aid)
    r = patient.put(f"/v1/assessments/{aid}/answers", headers=h,
                    json={"answers": {"low_back_pain": "present", "pain_below_knee": "absent"}})
    assert r.status_code == 200
    assert patient.post(f"/v1/assessments/{aid}/finish", headers=h).status_code == 200
    loose = finish_via_api(patient.client)
    return {"clinic": clinic, "doc": doc, "admin": admin, "patient": patient, "aid": aid, "loose": loose,
            "user_id": str(doc_id)}


def _owner(people: dict[str, Any], path: str) -> Browser:
    if path.startswith("/clinic/users"):
        return people["admin"]
    return people["doc"] if path.startswith(("/clinic", "/share")) else people["patient"]


def _state(site: Site, aid: str) -> tuple[Any, ...]:
    with site.database.read() as s:
        rec = s.get(AssessmentRecord, aid)
        assert rec is not None
        n = s.scalar(select(func.count()).select_from(AssessmentRecord))
        tokens = s.scalar(select(func.count()).select_from(Token).where(Token.revoked_at.is_(None)))
        return rec.revision, rec.status, rec.mode, rec.updated_at, n, tokens


FORM_DATA = {  # realistic fields, so that a refusal is about the CSRF token and nothing else
    "/start": {"age": "40", "sex": "male"},
    "/clinic/login": {"email": "nobody@example.org", "password": "not the password"},
    "/clinic/claim": {"share_code": "AAAA-AAAA-AAAA"},
    "/clinic/reset": {"code": "ppr_AAAA-AAAA-AAAA-AAAA", "password": "a new password here"},
    "/clinic/users/{user_id}": {"action": "activate"},
    "/clinic/a/{assessment_id}/exam": {"f_slr_positive": "present"},
    "/a/{assessment_id}/answer": {"finding": "fever_unwell", "value": "present"},
    "/a/{assessment_id}/where": {"region": "low_back_pain", "both_legs": "no"},
    "/a/{assessment_id}/followup": {"pain": "3", "activity1": "walking", "score1": "4"},
}


def test_every_post_form_needs_the_csrf_token(site: Site, people: dict[str, Any]) -> None:
    routes = web_routes(site.app, "POST")
    assert {"/start", "/clinic/login", "/clinic/logout", "/clinic/claim", "/clinic/a/{assessment_id}/exam",
            "/a/{assessment_id}/answer", "/a/{assessment_id}/followup"} <= set(routes), routes
    routes.sort(key=lambda p: p == "/clinic/logout")  # logging out last
    aid = people["aid"]
    stranger = site.browser()
    for path in routes:
        owner = _owner(people, path)
        url = fill(path, assessment_id=aid, code=people["loose"]["share_code"], user_id=people["user_id"], screen="where")
        data = FORM_DATA.get(path, {})
        token = owner.csrf()
        # the owner's login and patient cookies, but no CSRF cookie (a page of another site posting the form)
        cookieless = site.browser()
        for name in (SESSION_COOKIE, PATIENT_COOKIE):
            if owner.cookies.get(name):
                cookieless.cookies.set(name, owner.cookies.get(name))
        before = _state(site, aid)
        attacks = {
            "no token": lambda: owner.post(url, data=data, follow_redirects=False),
            "empty token": lambda: owner.post(url, data={**data, "csrf": ""}, follow_redirects=False),
            "forged token": lambda: owner.post(url, data={**data, "csrf": "A" * len(token)}, follow_redirects=False),
            "another browser's token": lambda: owner.post(url, data={**data, "csrf": stranger.csrf()},
                                                          follow_redirects=False),
            "no CSRF cookie": lambda: cookieless.post(url, data={**data, "csrf": token}, follow_redirects=False),
            "token in the query": lambda: owner.post(f"{url}?csrf={token}", data=data, follow_redirects=False),
            "token as a header": lambda: owner.post(url, data=data, headers={"X-CSRF-Token": token},
                                                    follow_redirects=False),
            "another site's origin": lambda: owner.post(url, data={**data, "csrf": token},
                                                        headers={"Origin": EVIL}, follow_redirects=False),
            "JSON instead of a form": lambda: owner.post(url, json={**data, "csrf": token}, follow_redirects=False),
        }
        for what, attack in attacks.items():
            r = attack()
            if what == "JSON instead of a form" and r.status_code == 422:
                continue  # a route with required form fields refuses a JSON body before it looks at the token
            assert r.status_code == 403, (path, what, r.status_code, r.text[:200])
            assert r.headers["content-type"].startswith("text/html"), (path, what)
            assert "csrf" in r.text or "origin" in r.text, (path, what)
        assert _state(site, aid) == before, path  # nothing changed
        assert people["doc"].get("/clinic").status_code == 200  # the clinician is still logged in
        # with the token the same request gets past the check (so the check, not the route, refused it above)
        r = owner.post(url, data={**data, "csrf": token}, follow_redirects=False)
        assert r.status_code != 403, (path, r.status_code, r.text[:200])


def test_csrf_cookie_flags(site: Site) -> None:
    b = site.browser()
    r = b.get("/")
    line = next(h for h in r.headers.get_list("set-cookie") if h.startswith(f"{CSRF_COOKIE}="))
    assert "httponly" in line.lower() and "samesite=lax" in line.lower() and "path=/" in line.lower()
    assert len(b.cookies.get(CSRF_COOKIE)) >= 32  # 24 random bytes, url-safe


# --- security headers on every page ---------------------------------------------------------------------------

CSP = {"default-src": ["'self'"], "script-src": ["'self'"], "frame-ancestors": ["'none'"], "object-src": ["'none'"],
       "base-uri": ["'none'"], "form-action": ["'self'"]}


def _check_headers(r: Any, where: str) -> None:
    h = r.headers
    assert h["x-content-type-options"] == "nosniff", where
    assert h["x-frame-options"] == "DENY", where
    assert h["referrer-policy"] == "no-referrer", where
    assert "no-store" in h.get("cache-control", ""), (where, "health data must not be cached")
    if h.get("content-type", "").startswith("text/html"):
        policy = {p.split()[0]: p.split()[1:] for p in h["content-security-policy"].split(";") if p.strip()}
        for directive, value in CSP.items():
            assert policy.get(directive) == value, (where, directive, policy.get(directive))
        assert not any("'unsafe-inline'" in v or "'unsafe-eval'" in v for v in policy.values()), where
        assert "camera=()" in h["permissions-policy"], where
    elif r.status_code == 200:
        assert "attachment" in h.get("content-disposition", ""), (where, h.get("content-type"))


def test_security_headers_on_every_page(site: Site, people: dict[str, Any]) -> None:
    routes = web_routes(site.app, "GET")
    assert {"/", "/clinic", "/clinic/login", "/a/{assessment_id}/result", "/a/{assessment_id}/report",
            "/clinic/a/{assessment_id}/report.pdf", "/clinic/export.{fmt}"} <= set(routes), routes
    aid = people["aid"]
    values = {"assessment_id": aid, "finding": "low_back_pain", "code": "es", "fmt": "csv", "user_id": people["user_id"],
              "screen": "where"}
    seen = 0
    for path in routes:
        owner = _owner(people, path)
        if path == "/share/{code}":
            url = fill(path, code=people["loose"]["share_code"])
        else:
            url = fill(path, **{k: v for k, v in values.items() if "{" + k in path})
        r = owner.get(url, follow_redirects=False)
        assert r.status_code in (200, 303), (url, r.status_code, r.text[:200])
        _check_headers(r, url)
        seen += r.headers.get("content-type", "").startswith("text/html")
        # the same page of something that is not there: the error page has the headers too
        bad = fill(path, **{k: "00000000-0000-0000-0000-000000000000" if k == "assessment_id" else "nope"
                            for k in values if "{" + k in path}) if "{" in path else None
        if bad:
            r = owner.get(bad, follow_redirects=False)
            assert 400 <= r.status_code < 500 or r.status_code == 303, (bad, r.status_code)
            _check_headers(r, bad)
    assert seen >= 10
    # an anonymous visitor's redirects to the login page have them too
    r = site.browser().get(f"/clinic/a/{aid}", follow_redirects=False)
    assert r.status_code == 303
    _check_headers(r, "login redirect")


# --- path traversal ----------------------------------------------------------------------------------------------

TRAVERSALS = [
    "/static/../pyproject.toml", "/static/../__init__.py", "/static/../clinic.py", "/static/../../web/security.py",
    "/static/../templates/base.html", "/static/../../../../../../../../etc/passwd", "/static/%2e%2e/__init__.py",
    "/static/%2e%2e%2f__init__.py", "/static/..%2f__init__.py", "/static/..%2F..%2Fconfig.py",
    "/static/%252e%252e/__init__.py", "/static/..\\__init__.py", "/static/..%5c__init__.py", "/static//etc/passwd",
    "/static/./../__init__.py", "/static/vendor/../../__init__.py", "/static/app.js/../../__init__.py",
    "/static/....//__init__.py", "/static/%c0%ae%c0%ae/__init__.py", "/static/\x00../__init__.py",
]
SECRETS = (b"import ", b"[project]", b"root:", b"{% block", b"def ", b"from __future__")


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_path_traversal_out_of_static(site: Site, path: str) -> None:
    status, body, headers = raw_get(site.app, path)
    assert status in (400, 404), (path, status, body[:100])
    assert not any(s in body for s in SECRETS), (path, body[:200])


def test_static_files_are_still_served(site: Site) -> None:
    status, body, headers = raw_get(site.app, "/static/app.js")
    assert status == 200 and body and "javascript" in headers.get("content-type", "")
    assert headers.get("x-content-type-options") == "nosniff"


# --- open redirects ------------------------------------------------------------------------------------------------

NEXTS = ["//evil.example", "//evil.example/clinic", EVIL, f"{EVIL}/clinic", "http:evil.example", "https:/evil.example",
         "/\\evil.example", "\\/evil.example", "\\\\evil.example", "/\t/evil.example", "/\n/evil.example",
         " //evil.example", "///evil.example", "/%2F/evil.example", "%2F%2Fevil.example", "/%5Cevil.example",
         "javascript:alert(1)", "data:text/html,x", "/.//evil.example", "//evil.example%2F..", "/clinic\r\nSet-Cookie: x=1"]


def _on_site(location: str, what: str) -> None:
    """How a browser would read the Location: backslashes as slashes, tabs and newlines dropped."""
    assert location.startswith("/"), (what, location)
    seen = re.sub(r"[\t\n\r]", "", location.replace("\\", "/"))
    assert not seen.startswith("//"), (what, location)
    assert urlsplit(urljoin("https://painpath.example/a/b", seen)).netloc == "painpath.example", (what, location)
    assert "\n" not in location and "\r" not in location, (what, location)


@pytest.mark.parametrize("nxt", NEXTS)
def test_no_open_redirect(site: Site, make_clinic: Any, nxt: str) -> None:
    b = site.browser()
    r = b.get("/lang/es", params={"next": nxt}, follow_redirects=False)
    assert r.status_code == 303
    _on_site(r.headers["location"], f"/lang/es?next={nxt!r}")
    # the login page keeps only a safe next, and the login itself redirects on site
    r = b.get("/clinic/login", params={"next": nxt})
    kept = re.search(r'name="next" value="([^"]*)"', r.text)
    assert kept, r.text[:300]
    clinic = make_clinic(("clinician",))
    r = b.web_login(str(clinic["clinician_email"]), next=nxt)
    assert r.status_code == 303
    _on_site(r.headers["location"], f"login next={nxt!r}")
    assert not [h for h in r.headers.get_list("set-cookie") if "x=1" in h]
