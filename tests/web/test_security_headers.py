"""Security headers on the web pages (CSP, framing, HSTS over TLS), and templates that keep the CSP workable:
no inline script, no event-handler attributes, no inline styles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from painpath.web.render import TEMPLATES

TEMPLATE_FILES = sorted(p for p in TEMPLATES.rglob("*.html"))


def csp(headers: dict[str, str] | object) -> dict[str, list[str]]:
    value = headers["content-security-policy"]  # type: ignore[index]
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def html_pages(web) -> list[str]:  # type: ignore[no-untyped-def]
    """One of each kind of page: start, interview, result, report, error, login, clinic."""
    b = web.browser
    aid = b.finished()
    return ["/", f"/a/{aid}/result", f"/a/{aid}/report", f"/a/{aid}/answers", f"/a/{aid}/followup",
            "/clinic/login", "/a/00000000-0000-0000-0000-000000000000"]


def check_html_headers(r, path: str) -> None:  # type: ignore[no-untyped-def]
    assert r.headers["content-type"].startswith("text/html"), path
    policy = csp(r.headers)
    scripts = policy.get("script-src", policy.get("default-src"))
    assert scripts == ["'self'"], (path, scripts)
    for directive in ("script-src", "default-src", "style-src"):
        assert "'unsafe-inline'" not in policy.get(directive, []), (path, directive)
        assert "'unsafe-eval'" not in policy.get(directive, []), (path, directive)
    assert policy["frame-ancestors"] == ["'none'"], path
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], path
    assert policy["form-action"] == ["'self'"], path
    assert r.headers["x-content-type-options"] == "nosniff", path
    assert r.headers["x-frame-options"] == "DENY", path
    assert r.headers["referrer-policy"] == "no-referrer", path


def test_html_pages_have_a_strict_csp(web) -> None:  # type: ignore[no-untyped-def]
    for path in html_pages(web):
        r = web.browser.get(path)
        assert r.status_code in (200, 404), path
        check_html_headers(r, path)
        assert "strict-transport-security" not in r.headers, path  # plain http: no HSTS


def test_error_pages_have_the_headers_too(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    r = b.post("/start", data={"age": "40", "sex": "male"})  # no CSRF token: 403 page
    assert r.status_code == 403
    check_html_headers(r, "/start 403")
    r = b.submit("/start", {"age": "x", "sex": "male"})  # 422 page
    assert r.status_code == 422
    check_html_headers(r, "/start 422")


def test_hsts_only_over_https(web) -> None:  # type: ignore[no-untyped-def]
    r = web.browser.get("/")
    assert "strict-transport-security" not in r.headers
    tls = web.new_browser(base_url="https://testserver")
    for path in ("/", "/clinic/login", "/openapi.json"):
        r = tls.get(path)
        assert r.status_code == 200, path
        hsts = r.headers.get("strict-transport-security", "")
        m = re.search(r"max-age=(\d+)", hsts)
        assert m and int(m.group(1)) >= 15552000, (path, hsts)
    r = tls.get("/")
    check_html_headers(r, "https /")


def test_docs_still_work(web) -> None:  # type: ignore[no-untyped-def]
    c = web.browser
    r = c.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "swagger" in r.text.lower() and "/openapi.json" in r.text
    # Swagger UI is served by PainPath itself and started from a file, so the docs page has a strict CSP too
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp and "http" not in csp
    assert c.get("/redoc").status_code == 404  # one set of docs, none from a CDN
    r = c.get("/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["paths"]
    assert not any(p.startswith(("/a/", "/clinic/a", "/share")) for p in r.json()["paths"])  # web pages hidden


def test_api_json_responses_are_unaffected(web) -> None:  # type: ignore[no-untyped-def]
    c = web.browser
    r = c.post("/v1/assessments", json={"age": 40, "sex": "male"})
    assert r.status_code == 201 and r.headers["content-type"].startswith("application/json")
    assert "content-security-policy" not in r.headers and "permissions-policy" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"
    # API errors stay problem+json, never the HTML error page
    r = c.get("/v1/assessments/00000000-0000-0000-0000-000000000000")
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "content-security-policy" not in r.headers
    assert r.json()["status"] == r.status_code
    r = c.post("/v1/assessments", json={"age": "old"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    # static files are served as themselves
    r = c.get("/static/app.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "content-security-policy" not in r.headers


def test_rendered_pages_have_no_inline_script_or_style(web) -> None:  # type: ignore[no-untyped-def]
    for path in html_pages(web):
        html = web.browser.get(path).text
        for m in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S | re.I):
            assert 'src="/static/' in m.group(1) and not m.group(2).strip(), (path, m.group(0)[:120])
        assert not re.search(r"<[a-z][^>]*\sstyle\s*=", html, re.I), path
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", html, re.I), path
        assert not re.search(r"<style\b", html, re.I), path
        assert "javascript:" not in html.lower(), path


def test_templates_are_found() -> None:
    names = {p.relative_to(TEMPLATES).as_posix() for p in TEMPLATE_FILES}
    assert {"base.html", "result.html", "_plan.html", "clinic/detail.html"} <= names


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.relative_to(TEMPLATES).as_posix())
def test_templates_have_no_inline_script_handlers_or_styles(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for m in re.finditer(r"<script\b([^>]*)>(.*?)</script\s*>", text, re.S | re.I):
        assert re.search(r'\ssrc="/static/[^"]+"', m.group(1)), f"<script> without a /static src: {m.group(0)[:80]}"
        assert not m.group(2).strip(), f"inline script body: {m.group(0)[:80]}"
    opened = len(re.findall(r"<script\b", text, re.I))
    closed = len(re.findall(r"</script\s*>", text, re.I))
    assert opened == closed, "unbalanced <script> tags"
    # attributes inside tags (Jinja blocks inside a tag are allowed, so look only at the tag text)
    for tag in re.finditer(r"<[a-zA-Z][^<>]*>", text):
        t = tag.group(0)
        assert not re.search(r"\son[a-z]+\s*=", t, re.I), f"event-handler attribute: {t[:100]}"
        assert not re.search(r"\sstyle\s*=", t, re.I), f"style attribute: {t[:100]}"
        assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", t, re.I), t[:100]
        assert "hx-on" not in t.lower(), f"htmx inline handler: {t[:100]}"
    assert not re.search(r"<style\b", text, re.I), "inline <style> element"
