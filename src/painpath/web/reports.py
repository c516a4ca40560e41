"""The shareable report: one page of HTML, the same as PDF (WeasyPrint), with a share code and QR code."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from painpath.storage.accounts import format_code, share_code_for
from painpath.storage.models import AssessmentRecord
from painpath.web.render import env, render


def base_url(request: Request) -> str:
    configured = request.app.state.settings.public_base_url.rstrip("/")
    return configured or str(request.base_url).rstrip("/")


def share_context(request: Request, rec: AssessmentRecord) -> dict[str, Any]:
    """Share code, link and QR code (SVG markup) when the viewer is the patient; empty for clinicians."""
    import segno

    token = getattr(request.state, "patient_token", None)
    if not token:
        return {"share_code": None, "share_url": None, "qr_svg": None}
    code = format_code(share_code_for(token))
    url = f"{base_url(request)}/share/{code}"
    qr = segno.make(url, error="m")
    svg = qr.svg_inline(scale=3, dark="#000", light="#fff", omitsize=False, title="QR code of the share link")
    return {"share_code": code, "share_url": url, "qr_svg": svg}


def _context(request: Request, rec: AssessmentRecord, answers: list[dict[str, Any]]) -> dict[str, Any]:
    from painpath.web.summary import result_view

    # places that do not hurt are the body map's unticked boxes: the report names the places that hurt
    answers = [a for a in answers if not (a.get("screen") == "where" and a["value"] == "absent")]
    return {"rec": rec, "result": rec.result, "plan": rec.plan, "answers": answers, "view": result_view(rec),
            **share_context(request, rec)}


def html_report(request: Request, rec: AssessmentRecord, answers: list[dict[str, Any]]) -> Response:
    return render(request, "report.html", **_context(request, rec, answers), pdf=False)


def pdf_report(request: Request, rec: AssessmentRecord, answers: list[dict[str, Any]]) -> Response:
    from weasyprint import HTML

    from painpath.web import i18n
    from painpath.web.render import TEMPLATES

    html = env().get_template("report.html").render(request=request, lang=i18n.current.get(), csrf="", path="",
                                                    query="", clinician=None, pdf=True,
                                                    **_context(request, rec, answers))
    css_dir = TEMPLATES.parent / "static"
    pdf = HTML(string=html, base_url=str(css_dir)).write_pdf()
    name = f"painpath-report-{rec.id[:8]}.pdf"
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})
