"""A generic form filler on another origin: NLM's LHC-Forms renders /fhir/Questionnaire/painpath, is filled in by
clicking, and its exported QuestionnaireResponse is assessed by $assess - all from the browser, across origins.

LHC-Forms (npm ``lforms``, taken with ``npm pack`` by scripts/setup-system.sh) is served by a small static server on
``http://localhost:<port>``; PainPath runs on ``http://127.0.0.1:<port>`` with ``PAINPATH_CORS_ORIGINS`` naming that
origin only. A third origin, not allowed, is refused by the browser. The Bundle is checked with the official
definitions (tests/fhir/official.py).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socketserver
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from painpath.engine import default_compiled
from painpath.fhir import codes as C
from tests.browser.conftest import ARTIFACTS, REPO, TIMEOUT_MS, _free_port, shot
from tests.conftest import painpath_cmd
from tests.fhir import official

LFORMS = REPO / "node_modules" / ".packed" / "lforms" / "dist" / "lforms"
NO_LFORMS = f"LHC-Forms is not at {LFORMS}: run `bash scripts/setup-system.sh test` (npm pack lforms)"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LHC-Forms filler</title>
<link rel="stylesheet" href="/lforms/webcomponent/styles.css"></head>
<body><div id="form"></div>
<script src="/lforms/webcomponent/assets/lib/zone.min.js"></script>
<script src="/lforms/webcomponent/runtime.js"></script>
<script src="/lforms/webcomponent/polyfills.js"></script>
<script src="/lforms/webcomponent/main.js"></script>
<script src="/lforms/fhir/R4/lformsFHIR.min.js"></script>
</body></html>"""
LOAD = """async (api) => {
  const r = await fetch(api + '/fhir/Questionnaire/painpath', {headers: {Accept: 'application/fhir+json'}});
  const q = await r.json();
  await LForms.Util.addFormToPage(q, 'form');
  return {status: r.status, items: q.item.length};
}"""
ASSESS = """async (api) => {
  const qr = LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', document.getElementById('form'));
  const r = await fetch(api + '/fhir/QuestionnaireResponse/$assess', {
    method: 'POST', headers: {'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json'},
    body: JSON.stringify(qr)});
  return {status: r.status, qr: qr, body: await r.json()};
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Origins:
    api: str
    forms: str  # allowed by PAINPATH_CORS_ORIGINS
    other: str  # the same files, from an origin that is not allowed


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True


def _static(root: Path) -> tuple[socketserver.TCPServer, str]:
    httpd = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://localhost:{httpd.server_address[1]}"


@pytest.fixture(scope="module")
def origins(chromium_path: Path) -> Iterator[Origins]:
    if not (LFORMS / "webcomponent" / "main.js").is_file():
        pytest.fail(NO_LFORMS, pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="painpath-lforms-"))
    (root / "index.html").write_text(PAGE, encoding="utf-8")
    (root / "lforms").symlink_to(LFORMS)
    forms, forms_url = _static(root)
    other, other_url = _static(root)
    data = Path(tempfile.mkdtemp(prefix="painpath-lforms-data-"))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PAINPATH_")}
    env.update({"PAINPATH_DATA_DIR": str(data), "PAINPATH_CORS_ORIGINS": forms_url, "PYTHONUNBUFFERED": "1"})
    port = _free_port()
    log_path = data / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([*painpath_cmd(), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited:\n{log_path.read_text(errors='replace')}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{api}/v1/health", timeout=2) as r:  # noqa: S310 - local server
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{log_path.read_text(errors='replace')}", pytrace=False)
            time.sleep(0.2)
        yield Origins(api=api, forms=forms_url, other=other_url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_path, ARTIFACTS / "server-lhc-forms.log")
        for httpd in (forms, other):
            httpd.shutdown()
            httpd.server_close()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def filler(browser: Any, origins: Origins) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{origins.forms}/index.html")
    page.wait_for_function("() => window.LForms && LForms.Util && LForms.Util.addFormToPage", timeout=60_000)
    loaded = page.evaluate(LOAD, origins.api)
    assert loaded["status"] == 200 and loaded["items"] > 1
    page.wait_for_selector("lhc-item", timeout=60_000)
    yield page
    ctx.close()
    assert not errors, f"errors in the page: {errors}"


def _choose(page: Any, link_id: str, code: str) -> None:
    """Click the radio button of one answer (LHC-Forms ids: '<linkId>/<n>...|<system>|<code>')."""
    page.locator(f'label[id^="{link_id}/"][id$="|{code}"]').click()


def _texts(kind: str) -> list[str]:
    return [sc.title for sc in default_compiled().kb.interview.screens.values() if sc.phase == kind]


def _fill_patient(page: Any) -> None:
    page.locator('input[id^="age/"]').fill("47")
    _choose(page, "sex", "male")
    for k in ("low_back_pain", "calf_pain", "pain_below_knee", "leg_pain_worse_than_back"):
        _choose(page, k, C.YES["code"])
    for k in ("anterior_thigh_pain", "pain_both_legs"):
        _choose(page, k, C.NO["code"])
    _choose(page, "foot_pain", C.DONT_KNOW["code"])


def test_lhc_forms_renders_fills_and_gets_an_assessment(filler: Any, origins: Origins) -> None:
    page = filler
    exam = _texts("exam")
    assert exam, "the knowledge base has examination screens"
    for title in exam:  # patient mode (the default answer of 'Who is answering?'): no examination group
        assert page.get_by_text(title, exact=True).count() == 0, f"exam group '{title}' shown to a patient"
    assert page.get_by_text("Don't know", exact=True).count() > 10
    assert page.get_by_text("Asked But Unknown").count() == 0
    # a help item is a help button; clicking it shows the help text
    help_text = default_compiled().kb.findings.findings["calf_pain"].help
    assert help_text
    page.locator('button[id^="help-button-calf_pain/"]').click()
    page.locator(".ant-popover", has_text=help_text[:40]).wait_for()  # the help popover, visible
    page.keyboard.press("Escape")
    _fill_patient(page)
    shot(page, "lhc-forms-patient")
    out = page.evaluate(ASSESS, origins.api)
    assert out["status"] == 200, out["body"]
    bundle, qr = out["body"], out["qr"]
    assert bundle["resourceType"] == "Bundle"
    links = {i["linkId"] for i in qr["item"]}
    assert C.MODE_ITEM in links and C.ABOUT_YOU in links
    assert not links & {n for n, sc in default_compiled().kb.interview.screens.items() if sc.phase == "exam"}
    risk = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
    assert "self mode" in risk["method"]["text"] and risk["prediction"][0]["probabilityDecimal"] > 0
    inner = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse")
    assert inner["authored"]
    assert official.check(bundle) == []


def test_lhc_forms_clinician_mode_shows_the_examination(filler: Any, origins: Origins) -> None:
    page = filler
    exam = _texts("exam")
    _choose(page, C.MODE_ITEM, "clinician")
    page.get_by_text(exam[0], exact=True).wait_for()
    assert all(page.get_by_text(t, exact=True).count() == 1 for t in exam)
    _fill_patient(page)
    screens = default_compiled().kb.interview.screens
    first_exam = next(sc for sc in screens.values() if sc.phase == "exam")
    _choose(page, first_exam.findings[0], C.YES["code"])
    shot(page, "lhc-forms-clinician")
    out = page.evaluate(ASSESS, origins.api)
    assert out["status"] == 200, out["body"]
    risk = next(e["resource"] for e in out["body"]["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
    assert "clinician mode" in risk["method"]["text"]
    assert official.check(out["body"]) == []


def test_another_origin_is_refused_by_the_browser(browser: Any, origins: Origins) -> None:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"{origins.other}/index.html")
        got = page.evaluate("""async (api) => {
          try {
            await fetch(api + '/fhir/QuestionnaireResponse/$assess', {method: 'POST',
              headers: {'Content-Type': 'application/fhir+json'}, body: '{}'});
            return 'allowed';
          } catch (e) { return 'refused: ' + e.name; }
        }""", origins.api)
        assert got == "refused: TypeError"
    finally:
        ctx.close()
