"""Jinja2 environment and page rendering (with translations, CSRF token and the language switch)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from painpath import __version__
from painpath.careplan import regions
from painpath.domain import Level, Side
from painpath.storage.accounts import format_code
from painpath.web import i18n
from painpath.web.security import csrf_token, finish_response

TEMPLATES = Path(__file__).with_name("templates")
DIAGRAMS = TEMPLATES.parent / "static" / "exercises"
LEVEL_LABEL = {
    Level.EMERGENCY.value: "Emergency: get help now",
    Level.URGENT.value: "Urgent: get seen today",
    Level.SOON.value: "See a clinician soon",
    Level.SELF_CARE.value: "Look after it yourself",
}


def N_(text: str) -> str:  # noqa: N802 - marks text for extraction (a babel keyword); translated where shown
    return text


ORIGIN_LABEL = {"back": "Your lower back", "hip": "Your hip", "leg": "Your leg itself", "vascular": "Your blood vessels",
                "systemic": "Your whole body (for example an infection)"}
# the same, in a clinician's words (clinician pages and the report a clinician reads)
ORIGIN_LABEL_CLINICIAN = {"back": N_("Lumbar spine"), "hip": N_("Hip"),
                          "leg": N_("The leg itself (muscle, tendon, bone, nerve)"), "vascular": N_("Blood vessels"),
                          "systemic": N_("Systemic (for example infection)")}


SIDE_LABEL = {Side.LEFT.value: N_("Left leg"), Side.RIGHT.value: N_("Right leg"), Side.BOTH.value: N_("Both legs")}


def side_label(state: Mapping[str, Any], *, patient: bool = False) -> str | None:
    """Which leg hurts, in English (a msgid), for a stored interview state (a dict): its side; for a state stored
    before the side was asked, what its answer to ``pain_both_legs`` says; None while nothing says. ``patient``:
    in the words of the person's own pages (their "not sure" is theirs, not "the patient's")."""
    side = state.get("side")
    if side in SIDE_LABEL:
        return SIDE_LABEL[side]
    given = {a.get("finding"): a.get("value") for a in state.get("answers") or ()}.get("pain_both_legs")
    return {"present": SIDE_LABEL[Side.BOTH.value], "absent": N_("One leg (side not recorded)"),
            "unknown": N_("Not sure") if patient else N_("The patient was not sure")}.get(str(given))


def _pct(p: float) -> str:
    """A probability in whole percent; never "100%" (nothing here is certain) and never "0%"."""
    n = round(p * 100)
    if n >= 100:
        return ">99%"
    if n < 1:
        return "<1%"
    return f"{n}%"


@lru_cache(maxsize=1)
def _diagram_names() -> frozenset[str]:
    return frozenset(p.stem for p in DIAGRAMS.glob("*.svg"))


def diagram(item: Any) -> str | None:
    """URL of an exercise's picture: ``/static/exercises/<id>.svg`` when one is drawn for the exercise,
    else ``<category>.svg``, else None (the page then shows no picture). ``item`` is a plan's exercise
    (a dict) or a ``LibraryItem``."""
    names = _diagram_names()
    for key in ("id", "category"):
        name = item.get(key) if isinstance(item, Mapping) else getattr(item, key, None)
        if isinstance(name, str) and name in names:
            return f"/static/exercises/{name}.svg"
    return None


def region_info() -> dict[str, str | None]:
    """The region's services (``PAINPATH_REGION``) in the page's language, and ``tel``, the number to dial."""
    return regions.services(None, i18n.current.get())


def fill_region(text: str) -> str:
    """Template filter: ``{{ _("Call {emergency_number}.")|region }}`` names the region's services."""
    return regions.fill(str(text), region_info())


@lru_cache(maxsize=1)
def env() -> Environment:
    e = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "svg"]),
                    extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    e.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=False)  # type: ignore[attr-defined]  # jinja2's i18n extension adds this method at run time
    e.filters["pct"] = _pct
    e.filters["code"] = format_code  # intake and share codes, spelled one way everywhere (9FZ5-4WTZ)
    e.globals["diagram"] = diagram
    e.filters["region"] = fill_region
    e.globals["region"] = region_info
    e.globals["msg"] = i18n.message  # a core message id with parameters, in the page's language
    e.globals["msgs"] = i18n.message_list  # a stored plan's or follow-up's *_messages beside their English
    e.globals["msg_text"] = i18n.message_text  # several messages as one text (the shared-advice note)
    e.globals["side_label"] = side_label  # which leg, for a stored state
    e.globals.update(LEVEL_LABEL=LEVEL_LABEL, ORIGIN_LABEL=ORIGIN_LABEL, ORIGIN_LABEL_CLINICIAN=ORIGIN_LABEL_CLINICIAN,
                     LANGUAGES=i18n.LANGUAGES,
                     app_version=__version__)
    return e


def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = i18n.current.get()
    query = request.url.query
    html = env().get_template(template).render(
        request=request, lang=lang, csrf=csrf_token(request), path=request.url.path,
        query=query, clinician=getattr(request.state, "clinician", None), **ctx)
    return finish_response(request, HTMLResponse(html, status_code=status))  # type: ignore[return-value]  # finish_response returns the response it was given
