"""A clinic's first hour in a real browser: start `painpath serve` on an empty data directory, open the address it
prints, create the clinic on the first-run page, log in; and the API docs render with the network closed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import ARTIFACTS, TIMEOUT_MS, _free_port, describe_violations, run_axe, shot
from tests.conftest import painpath_cmd

PASSWORD = "correct horse battery staple"


def _start(data: Path) -> tuple[subprocess.Popen[str], list[str], threading.Thread]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PAINPATH_")}
    env.update({"PAINPATH_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"})
    proc = subprocess.Popen([*painpath_cmd(), "serve", "--host", "127.0.0.1", "--port", str(_free_port())], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()  # type: ignore[union-attr]
        if not line:
            break
        lines.append(line)
        if "Uvicorn running" in line or "Application startup complete" in line:
            # keep reading the log, so a full pipe never blocks the server
            reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
            reader.start()
            return proc, lines, reader
    proc.kill()
    proc.wait(timeout=10)
    proc.stderr.close()  # type: ignore[union-attr]
    pytest.fail("the server did not start:\n" + "".join(lines), pytrace=False)


@pytest.fixture(scope="module")
def fresh_server(chromium_path: Path) -> Iterator[tuple[str, str]]:
    """`painpath serve` on an empty data directory: (the address it prints, the set-up address it prints)."""
    data = Path(tempfile.mkdtemp(prefix="painpath-first-run-"))
    proc, lines, reader = _start(data)
    try:
        text = "".join(lines)
        assert f"database: {data / 'painpath.sqlite3'}" in text, text
        address = re.search(r"PainPath on (http://\S+?)/? ", text)
        setup = re.search(r"open (http://\S+/setup) in a browser", text)
        assert address and setup, text
        yield address.group(1), setup.group(1)
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=10)
        reader.join(timeout=10)
        proc.stderr.close()  # type: ignore[union-attr]
        shutil.rmtree(data, ignore_errors=True)


def _offline_page(browser: Any, base: str) -> tuple[Any, list[str]]:
    """A desktop page whose requests to any host but the server's are aborted (a closed clinic network)."""
    host = urlsplit(base).netloc
    blocked: list[str] = []
    ctx = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900}, locale="en-GB")
    ctx.set_default_timeout(TIMEOUT_MS)

    def only_local(route: Any) -> None:
        if urlsplit(route.request.url).netloc == host or route.request.url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    ctx.route("**/*", only_local)
    return ctx.new_page(), blocked


def test_first_run_create_the_clinic_and_log_in(browser: Any, fresh_server: tuple[str, str], axe_source: str) -> None:
    base, setup_url = fresh_server
    page, blocked = _offline_page(browser, base)
    try:
        # the clinician's way in leads to the first-run page while there is no clinic
        page.goto(base + "/clinic/login")
        assert page.url == setup_url, page.url
        page.goto(setup_url)
        assert page.get_by_text("At least 10 characters").is_visible()  # the rule, before anything is typed
        result = run_axe(page, axe_source, "first-run-setup")
        assert not result["violations"], describe_violations(result["violations"])
        page.get_by_label("Clinic name").fill("Riverside Physio")
        page.get_by_label("Your name (optional)").fill("Lee Park")
        page.get_by_label("Email").fill("lee@riverside.example")
        page.get_by_label("Password", exact=True).fill("too short")
        assert page.locator("#password-count").inner_text() == "Characters still needed: 1"
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        assert page.locator("#password-count").inner_text() == "Long enough"
        page.get_by_label("Password again").fill(PASSWORD)
        shot(page, "first-run-setup")
        with page.expect_navigation():
            page.get_by_role("button", name="Create the clinic").click()
        assert page.get_by_role("heading", name="Clinic created").is_visible()
        code = page.locator("strong code").inner_text()
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
        shot(page, "first-run-done")

        page.get_by_role("link", name="Log in").click()
        page.wait_for_url("**/clinic/login")
        page.get_by_label("Email").fill("lee@riverside.example")
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in", exact=True).click()
        assert urlsplit(page.url).path == "/clinic", page.url
        assert page.get_by_text("Riverside Physio").first.is_visible()
        assert f"/?clinic={code}" in page.content()

        # the set-up page is gone for good: its address leads to the login page
        page.goto(setup_url)
        assert urlsplit(page.url).path == "/clinic/login", page.url
        assert page.get_by_role("heading", name="Set up PainPath").count() == 0
        assert blocked == [], blocked  # nothing was fetched from elsewhere on the way
    finally:
        page.context.close()


def test_api_docs_render_with_other_hosts_blocked(browser: Any, fresh_server: tuple[str, str]) -> None:
    base, _setup = fresh_server
    page, blocked = _offline_page(browser, base)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        r = page.goto(base + "/docs")
        assert r is not None and r.status == 200
        csp = r.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        page.locator(".swagger-ui .info .title").filter(has_text="PainPath API").wait_for()
        page.locator(".opblock-summary-path", has_text="/v1/assess").first.wait_for()
        assert page.locator(".opblock").count() >= 20
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot(page, "api-docs-offline")
        assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
        assert blocked == [], blocked
    finally:
        page.context.close()
