"""Browser tests: the real server in a subprocess, driven by Chromium through Playwright (sync API).

The server runs ``painpath serve`` on a free port with a temporary data directory
(SQLite) holding one clinic and one clinician; server, browser and data directory
live for this package's tests only (its log is kept as test-artifacts/server.log).
Chromium is the system package (``/usr/bin/chromium``, or ``PAINPATH_CHROMIUM``);
Playwright's own browser downloads are not used. If Chromium is missing the tests
fail, saying how to install it, unless ``PAINPATH_TEST_BROWSER=skip`` is set.
axe-core comes from ``node_modules`` (``npm ci``; package.json pins it).
Screenshots of every main page go to ``test-artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import painpath_cmd

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PAINPATH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000
CLINIC_SLUG = "browser-test-clinic"
CLINIC_NAME = "Riverside Physio (browser tests)"
CLINICIAN_EMAIL = "dr.browser@example.org"
CLINICIAN_PASSWORD = "correct horse battery staple"

NO_CHROMIUM = (
    f"Chromium is not installed at {CHROMIUM}. The browser tests drive the system Chromium (Playwright's own "
    "browser downloads are not used). Install it with `apt-get install -y chromium` (Debian/Ubuntu; .ci/run does "
    "this), or set PAINPATH_TEST_BROWSER=skip to skip the browser tests on purpose."
)
NO_AXE = (
    f"axe-core is not installed at {AXE_JS}. Run `npm ci` in the repository root (package.json pins axe-core; "
    ".ci/run does this)."
)


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path
    clinic_name: str = CLINIC_NAME
    email: str = CLINICIAN_EMAIL
    password: str = CLINICIAN_PASSWORD


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *args: str, input: str | None = None) -> None:
    r = subprocess.run([*painpath_cmd(), *args], env=env, input=input, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        pytest.fail(f"painpath {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}", pytrace=False)


@pytest.fixture(scope="package")
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        if os.environ.get("PAINPATH_TEST_BROWSER") == "skip":
            pytest.skip("PAINPATH_TEST_BROWSER=skip: browser tests skipped on purpose (Chromium missing)")
        pytest.fail(NO_CHROMIUM, pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="package")
def server(chromium_path: Path) -> Iterator[Server]:
    """`painpath serve` on a free port with a fresh SQLite data directory, one clinic and one clinician."""
    data = Path(tempfile.mkdtemp(prefix="painpath-browser-"))
    log_path = data / "server.log"
    proc: subprocess.Popen[bytes] | None = None
    log = None
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",) and not k.startswith("PAINPATH_")}
        env.update({"PAINPATH_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1",
                    "PAINPATH_ANONYMOUS_PER_CLIENT": "100000000"})  # every page comes from 127.0.0.1
        _cli(env, "admin", "create-clinic", CLINIC_SLUG, CLINIC_NAME, "--create")
        _cli(env, "admin", "create-user", CLINIC_SLUG, CLINICIAN_EMAIL, "--role", "admin", "--password-stdin",
             input=CLINICIAN_PASSWORD + "\n")
        port = _free_port()
        log = log_path.open("wb")
        proc = subprocess.Popen([*painpath_cmd(), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}",
                            pytrace=False)
            try:
                with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as r:  # noqa: S310 - local server
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer within 60 s:\n{log_path.read_text(errors='replace')}",
                            pytrace=False)
            time.sleep(0.2)
        yield Server(url=url, data_dir=data)
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if log is not None:
            log.close()
        if log_path.is_file():  # kept for reading after a failure
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log_path, ARTIFACTS / "server.log")
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="package")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def new_page(browser: Any, server: Server, *, phone: bool = True) -> Any:
    """A page in a fresh browser context (own cookies): a phone (390x844) or a desktop window."""
    opts: dict[str, Any] = {"viewport": PHONE, "is_mobile": True, "has_touch": True} if phone else {"viewport": DESKTOP}
    ctx = browser.new_context(base_url=server.url, accept_downloads=True, locale="en-GB", **opts)
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx.new_page()


@pytest.fixture
def phone(browser: Any, server: Server) -> Iterator[Any]:
    page = new_page(browser, server, phone=True)
    yield page
    page.context.close()


@pytest.fixture
def desktop(browser: Any, server: Server) -> Iterator[Any]:
    page = new_page(browser, server, phone=False)
    yield page
    page.context.close()


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot in test-artifacts/screenshots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="package")
def axe_source() -> str:
    if not AXE_JS.is_file():
        pytest.fail(NO_AXE, pytrace=False)
    return AXE_JS.read_text(encoding="utf-8")


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
AXE_RUN = """async (tags) => {
  const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return {
    passes: r.passes.length, incomplete: r.incomplete.length,
    needs_review: r.incomplete.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                          nodes: v.nodes.map(n => n.target.join(" "))})),
    violations: r.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, tags: v.tags,
      nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 200), summary: n.failureSummary}))
    }))
  };
}"""


def run_axe(page: Any, axe_source: str, name: str) -> dict[str, Any]:
    """Run axe-core (WCAG 2.0/2.1/2.2 A and AA rules) on the page; the result is saved to test-artifacts/axe/."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)  # through the DevTools protocol, so the page's CSP (no inline script) allows it
    result: dict[str, Any] = page.evaluate(AXE_RUN, AXE_TAGS)
    result["url"] = page.url
    out = ARTIFACTS / "axe"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for n in v["nodes"][:8]:
            lines.append(f"    at {n['target']}\n      {n['html']}\n      {n['summary']}".replace("\n  Fix", "\n        Fix"))
        if len(v["nodes"]) > 8:
            lines.append(f"    ... and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


@dataclass
class Finished:
    """A patient's finished assessment, with the phone page (and its cookies) still open."""

    page: Any
    id: str
    summary: dict[str, Any]


@pytest.fixture(scope="package")
def sciatica(browser: Any, server: Server) -> Iterator[Finished]:
    """A person with recent sciatica completes the interview on a phone (pain 6/10 at the start)."""
    from tests.browser import flows

    page = new_page(browser, server, phone=True)
    try:
        aid = flows.start(page, 38, "male")
        flows.fill_body_map(page, flows.SCIATICA_REGIONS, both_legs=False, leg_worse=True, pain_now=6)
        flows.submit_body_map(page)
        flows.interview(page, flows.yes_for(flows.SCIATICA_YES))
        assert page.url.endswith(f"/a/{aid}/result"), page.url
        yield Finished(page=page, id=aid, summary=flows.result_summary(page))
    finally:
        page.context.close()


def login(page: Any, server: Server) -> None:
    page.goto("/clinic/login")
    page.get_by_label("Email").fill(server.email)
    page.get_by_label("Password").fill(server.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in", exact=True).click()


@pytest.fixture(scope="package")
def clinician(browser: Any, server: Server) -> Iterator[Any]:
    """A desktop page with a clinician logged in (shared by the tests that only read clinician pages)."""
    page = new_page(browser, server, phone=False)
    try:
        login(page, server)
        assert page.url.endswith("/clinic"), page.url
        yield page
    finally:
        page.context.close()
