"""The report: the PDF downloads from the result page and says the urgency, the top cause and the KB version."""

from __future__ import annotations

import re
from io import BytesIO

from playwright.sync_api import expect
from pypdf import PdfReader

from painpath.engine import default_compiled
from tests.browser import flows
from tests.browser.conftest import Finished, shot


def _text(pdf: bytes) -> str:
    reader = PdfReader(BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in reader.pages))


def test_pdf_report_downloads_with_level_cause_and_kb_version(sciatica: Finished) -> None:
    page = sciatica.page
    page.goto(f"/a/{sciatica.id}/result")
    summary = flows.result_summary(page)
    kb = default_compiled().kb
    full_name = {c.short_name: c.name for c in kb.conditions.conditions.values()}[summary["top"]]

    with page.expect_download() as info:
        page.get_by_role("link", name="Download the report (PDF)").click()
    download = info.value
    assert download.failure() is None, download.failure()
    assert re.fullmatch(r"painpath-report-[0-9a-f]{8}\.pdf", download.suggested_filename), download.suggested_filename
    with open(download.path(), "rb") as f:
        pdf = f.read()
    assert pdf.startswith(b"%PDF-"), pdf[:20]

    text = _text(pdf)
    assert summary["level"] in text, f"urgency {summary['level']!r} not in the PDF text:\n{text[:1500]}"
    assert full_name in text, f"top condition {full_name!r} not in the PDF text:\n{text[:1500]}"
    assert kb.version in text, f"knowledge-base version {kb.version!r} not in the PDF text:\n{text[-800:]}"
    assert summary["share_code"] in text

    # The same file through the page's request context (the patient's cookies), and the HTML report.
    r = page.request.get(f"/a/{sciatica.id}/report.pdf")
    assert r.ok and r.headers["content-type"] == "application/pdf"
    assert _text(r.body()).count(full_name) == text.count(full_name)
    page.goto(f"/a/{sciatica.id}/report")
    expect(page.get_by_role("heading", name="PainPath report")).to_be_visible()
    expect(page.locator("main")).to_contain_text(summary["level"])
    shot(page, "patient-09-report")
