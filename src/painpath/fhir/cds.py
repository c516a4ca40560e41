"""CDS Hooks 2.0 services (framework-free): discovery, ``painpath-patient-view`` and ``painpath-lumbar-imaging``.

* ``painpath-patient-view`` (hook ``patient-view``): from the patient's PainPath QuestionnaireResponse (prefetch
  ``painpathResponse``; or PainPath finding Observations plus the ``patient`` prefetch for age and sex), one card
  with the final level (``painpath.services.conclude_case``, the care plan's) as its indicator (self_care / soon
  -> info, urgent -> warning, emergency -> critical), the reasons (and why the level was raised above the
  engine's triage level, when it was), which leg when known, and the most likely causes. Only the answers given
  count: a finding the response did not ask, or that no Observation records, is unknown, never "no".
* ``painpath-lumbar-imaging`` (hook ``order-select``): when a selected draft order is lumbar-spine MRI, CT or
  X-ray (by LOINC or CPT code, or by its text) and the PainPath answers record no warning feature and every
  red flag (``kb/data/triage.yaml: imaging_red_flags``) answered No, an info card citing the guidance against routine imaging for
  non-specific low back pain or sciatica; with red flags not recorded (not asked, or "don't know"), a card
  naming them and saying the imaging advice depends on them; with warning features (or a red flag answered
  Yes), an info card saying the advice against imaging does not apply and listing them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from painpath import messages
from painpath.assessment import Assessment
from painpath.cases import Case
from painpath.domain import Level
from painpath.engine import CompiledKB, default_compiled
from painpath.fhir import codes as C
from painpath.fhir.operations import check_fhir, needs_location, response_case
from painpath.fhir.outcome import FhirError
from painpath.fhir.results import level_advice
from painpath.services import conclude_case

__all__ = ["CdsError", "discovery", "lumbar_imaging", "patient_view"]

PATIENT_VIEW = "painpath-patient-view"
LUMBAR_IMAGING = "painpath-lumbar-imaging"
INDICATOR = {Level.SELF_CARE.value: "info", Level.SOON.value: "info", Level.URGENT.value: "warning",
             Level.EMERGENCY.value: "critical"}
TAG = f"{C.PAINPATH_SYSTEM}|painpath-response"
RESPONSE_PREFETCH = ("QuestionnaireResponse?subject={{context.patientId}}&_tag=" + TAG
                     + "&status=completed&_sort=-authored&_count=1")

# Lumbar spine imaging: LOINC radiology codes (LOINC/RSNA playbook names) and CPT codes.
LUMBAR_LOINC = {
    "24963-1": "CT Lumbar spine", "24964-9": "CT Lumbar spine W contrast IV",
    "24965-6": "CT Lumbar spine W contrast IT", "30620-9": "CT Lumbar spine WO contrast",
    "24968-0": "MR Lumbar spine", "24967-2": "MR Lumbar spine WO and W contrast IV",
    "30678-7": "MR Lumbar spine W contrast IV", "30679-5": "MR Lumbar spine WO contrast",
    "24969-8": "XR Lumbar spine Lateral", "24970-6": "XR Lumbar spine AP and Lateral",
    "24971-4": "XR Lumbar spine Views W flexion and W extension", "24972-2": "XR Lumbar spine Views",
}
LUMBAR_CPT = {
    "72100": "X-ray lumbosacral spine, 2 or 3 views", "72110": "X-ray lumbosacral spine, 4 or more views",
    "72114": "X-ray lumbosacral spine, complete with bending views", "72120": "X-ray lumbosacral spine, bending views",
    "72131": "CT lumbar spine without contrast", "72132": "CT lumbar spine with contrast",
    "72133": "CT lumbar spine without and with contrast", "72148": "MRI lumbar spine without contrast",
    "72149": "MRI lumbar spine with contrast", "72158": "MRI lumbar spine without and with contrast",
}
_REGION = re.compile(r"\b(lumbar|lumbo-?sacral|l-?spine|ls[- ]spine|low(er)?[- ]back)\b", re.I)
_MODALITY = re.compile(r"\b(mri|mr|mra|magnetic resonance|ct|cat scan|computed tomograph\w*|x-?rays?|xr|"
                       r"radiograph\w*|plain films?)\b", re.I)

NICE_URL = "https://www.nice.org.uk/guidance/ng59"
ACP_2017 = ("Qaseem A, Wilt TJ, McLean RM, Forciea MA; Clinical Guidelines Committee of the American College of "
            "Physicians. Noninvasive treatments for acute, subacute, and chronic low back pain: a clinical practice "
            "guideline from the American College of Physicians. Ann Intern Med 2017;166:514-30.")
ACP_2017_URL = "https://doi.org/10.7326/M16-2367"
ACP_2011 = ("Chou R, Qaseem A, Owens DK, Shekelle P; Clinical Guidelines Committee of the American College of "
            "Physicians. Diagnostic imaging for low back pain: advice for high-value health care from the American "
            "College of Physicians. Ann Intern Med 2011;154:181-9.")


class CdsError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def discovery() -> dict[str, Any]:
    return {"services": [
        {"hook": "patient-view", "id": PATIENT_VIEW, "title": "PainPath leg-pain assessment",
         "description": ("Shows the patient's latest PainPath result: how urgent the leg pain is, why, and the "
                         "most likely causes (information, not a diagnosis)."),
         "prefetch": {"painpathResponse": RESPONSE_PREFETCH, "patient": "Patient/{{context.patientId}}"},
         "usageRequirements": ("Prefetch the patient's completed PainPath QuestionnaireResponse (tagged "
                               f"{TAG}), or PainPath finding Observations with the Patient for age and sex.")},
        {"hook": "order-select", "id": LUMBAR_IMAGING, "title": "PainPath lumbar imaging check",
         "description": ("When lumbar spine MRI, CT or X-ray is ordered, says whether PainPath recorded warning "
                         "features; without them, cites guidance against routine imaging for non-specific low "
                         "back pain or sciatica (NICE NG59; American College of Physicians)."),
         "prefetch": {"painpathResponse": RESPONSE_PREFETCH},
         "usageRequirements": "Send draftOrders (ServiceRequest) in the context and prefetch painpathResponse."},
    ]}


# --- reading the request ---------------------------------------------------------------------------------


@dataclass
class Evidence:
    answers: dict[str, str] = field(default_factory=dict)  # finding -> present | absent | unknown
    case: Case | None = None  # when age and sex are known
    mode: str = "self"
    assessment_id: str | None = None
    side: str | None = None  # which leg (left, right, both), when the answers say


def _check_request(body: Any, hook: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise CdsError(400, "invalid_request", "body: expected a JSON object (a CDS Hooks request)")
    for key in ("hook", "hookInstance", "context"):
        if key not in body:
            raise CdsError(400, "invalid_request", f"{key}: required")
    if body["hook"] != hook:
        raise CdsError(400, "invalid_request", f"hook: this service answers '{hook}', not {body['hook']!r}")
    if not isinstance(body["context"], dict):
        raise CdsError(400, "invalid_request", "context: must be an object")
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise CdsError(400, "invalid_request", "prefetch: must be an object")
    return body


def _list(value: Any) -> list[Any]:
    """The value if it is a JSON array, else no items (the EHR's JSON is not trusted to have FHIR's shape)."""
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _texts(coding: dict[str, Any]) -> bool:
    """Whether a Coding's system and code are strings (or absent), so they can be looked up."""
    return all(isinstance(coding.get(k, ""), str) for k in ("system", "code"))


def _resources(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        return [e["resource"] for e in _list(value.get("entry"))
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    return [value] if "resourceType" in value else []


def _for_patient(res: dict[str, Any], patient_id: str | None) -> bool:
    ref = (res.get("subject") or {}).get("reference") if isinstance(res.get("subject"), dict) else None
    if not patient_id or not isinstance(ref, str):
        return True
    return ref == f"Patient/{patient_id}" or ref.endswith(f"/Patient/{patient_id}")


def _is_painpath_qr(qr: dict[str, Any]) -> bool:
    ref = qr.get("questionnaire")
    if not isinstance(ref, str):
        return False
    if ref.split("|", 1)[0] == C.QUESTIONNAIRE_URL:
        return True
    return ref.startswith("#") and any(
        isinstance(r, dict) and r.get("resourceType") == "Questionnaire" and r.get("id") == ref[1:]
        and any(str(d).split("|", 1)[0] == C.QUESTIONNAIRE_URL for d in _list(r.get("derivedFrom")))
        for r in _list(qr.get("contained")))


def _age(birth: Any) -> int | None:
    try:
        born = dt.date.fromisoformat(str(birth)[:10])
    except ValueError:
        return None
    today = dt.date.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _observation_value(obs: dict[str, Any]) -> str | None:
    if isinstance(obs.get("valueBoolean"), bool):
        return "present" if obs["valueBoolean"] else "absent"
    for c in _list(_dict(obs.get("valueCodeableConcept")).get("coding")):
        got = C.VALUE_OF.get((c.get("system"), c.get("code"))) if isinstance(c, dict) and _texts(c) else None
        if got:
            return got
    return None


def evidence(body: dict[str, Any], ckb: CompiledKB) -> Evidence | None:
    """PainPath answers for the context's patient from the prefetch (None when there are none)."""
    prefetch = body.get("prefetch") or {}
    patient_id = body["context"].get("patientId")
    found = _resources(prefetch.get("painpathResponse"))
    qrs = [r for r in found if r.get("resourceType") == "QuestionnaireResponse" and _is_painpath_qr(r)
           and r.get("status") in ("completed", "amended") and _for_patient(r, patient_id)]
    if qrs:
        qr = max(qrs, key=lambda r: str(r.get("authored") or ""))
        try:
            check_fhir(qr)
            resp, case, mode = response_case(qr, ckb)
        except FhirError as exc:
            raise CdsError(400, "invalid_prefetch", f"prefetch.painpathResponse: {exc.message}") from None
        ident = qr.get("identifier")
        aid = ident.get("value") if isinstance(ident, dict) and ident.get("system") == C.ASSESSMENT_ID_SYSTEM else None
        return Evidence(dict(resp.answers), case, mode, aid, resp.leg_side)
    answers: dict[str, str] = {}
    sides: set[str] = set()
    for r in found:
        if r.get("resourceType") != "Observation" or r.get("status") not in ("final", "amended", "corrected"):
            continue
        if not _for_patient(r, patient_id):
            continue
        for c in _list(_dict(r.get("code")).get("coding")):
            if (isinstance(c, dict) and _texts(c) and c.get("system") == C.FINDING_SYSTEM
                    and c.get("code") in ckb.fidx):
                v = _observation_value(r)
                if v:
                    answers[c["code"]] = v
                    sides.update(_laterality(r))
    if not answers:
        return None
    side = next(iter(sides)) if len(sides) == 1 else None  # the leg findings' bodySite, when they agree
    patients = [p for p in _resources(prefetch.get("patient")) + found if p.get("resourceType") == "Patient"]
    if patients:
        age, sex = _age(patients[0].get("birthDate")), patients[0].get("gender")
        if age is not None and 0 <= age <= 120 and sex in ("female", "male"):
            mode = "clinician" if any(ckb.kb.findings.findings[k].kind == "sign" for k in answers) else "self"
            findings = {k: (None if v == "unknown" else v == "present") for k, v in answers.items()}
            # a finding the EHR has no Observation of was not recorded: unknown, never "no"
            case = Case(id="cds", age=age, sex=sex, findings=findings, unlisted="unknown")
            return Evidence(answers, case, mode, side=side)
    return Evidence(answers, None, side=side)


def _laterality(obs: dict[str, Any]) -> list[str]:
    """Which leg an Observation's ``bodySite`` says (SNOMED CT laterality, as PainPath writes it)."""
    return [side for c in _list(_dict(obs.get("bodySite")).get("coding"))
            if isinstance(c, dict) and _texts(c) and (side := C.SIDE_OF.get((c.get("system"), c.get("code"))))]


# --- cards -----------------------------------------------------------------------------------------------


def _summary(text: str) -> str:
    """CDS Hooks: a one-sentence summary of fewer than 140 characters."""
    return text if len(text) < 140 else text[:138].rstrip() + "…"


def _pct(p: float) -> str:
    return "<1%" if p < 0.005 else ">99%" if p > 0.995 else f"{p:.0%}"


def _source(base_url: str) -> dict[str, Any]:
    src: dict[str, Any] = {"label": "PainPath",
                           "topic": C.painpath_code("leg-pain-assessment")}
    if base_url:
        src["url"] = base_url.rstrip("/") + "/"
    return src


def _reader_names(kind: str, key: str) -> str | None:
    """Names in a level-raise note for a clinician: a level's display, a care-plan condition's name."""
    if kind == "level":
        return C.LEVEL_SHORT.get(key)
    if kind == "condition_key":
        return messages.default_names("care_condition", key) or messages.default_names("condition", key)
    return messages.default_names(kind, key)


def raised_lines(note_messages: Any) -> list[str]:
    """The care plan's notes that say why the level is above the engine's triage level, in English with level
    and condition names (``painpath.messages.LEVEL_RAISED``)."""
    return [messages.render(m, names=_reader_names) for m in note_messages if m.id in messages.LEVEL_RAISED]


def assessment_card(result: Assessment, *, base_url: str = "", assessment_id: str | None = None,
                    level: str | None = None, raised: list[str] | None = None, side: str | None = None,
                    ckb: CompiledKB | None = None) -> dict[str, Any]:
    """The card of one assessment. ``level``: the final level (default the engine's triage level), its indicator,
    summary and advice; ``raised``: why it is above the triage level; ``side``: which leg."""
    level = level or result.triage.level
    advice = level_advice(ckb or default_compiled(), result, level)
    top = result.top
    other = result.other
    if other is not None and other.leads:  # never name the nearest condition when the pattern fits none well
        summary = _summary(f"PainPath: {C.LEVEL_SHORT[level]}. The answers fit no common cause well ({_pct(other.probability)})")
    else:
        summary = _summary(f"PainPath: {C.LEVEL_SHORT[level]}. Most likely {top.short_name} ({_pct(top.probability)})")
    lines = [f"**{C.LEVEL_DISPLAY[level]}**: {advice}", ""]
    if side in C.LATERALITY_TEXT:
        lines += [f"Leg: {C.LATERALITY_TEXT[side]}", ""]
    lines += ["Why this level:"]
    lines += [f"- {r.text}" for r in result.triage.reasons]
    lines += [f"- The level was raised: {t}" for t in raised or []]
    if other is not None and other.message:
        lines += ["", other.message]
    lines += ["", "Most likely causes (PainPath's estimate, not a diagnosis):"]
    for c in result.conditions[:3]:
        lines.append(f"- {c.name}: {_pct(c.probability)} (ICD-10-CM {', '.join(c.icd10cm)})")
    lines += ["", f"_{result.disclaimer}_"]
    card: dict[str, Any] = {"uuid": str(uuid.uuid4()), "summary": summary, "indicator": INDICATOR[level],
                            "detail": "\n".join(lines), "source": _source(base_url)}
    if assessment_id and base_url:
        card["links"] = [{"label": "PainPath report", "type": "absolute",
                          "url": f"{base_url.rstrip('/')}/clinic/a/{assessment_id}/report"}]
    return card


def patient_view(body: Any, ckb: CompiledKB, *, base_url: str = "") -> dict[str, Any]:
    req = _check_request(body, "patient-view")
    if "painpathResponse" not in (req.get("prefetch") or {}):
        raise CdsError(412, "prefetch_required", "prefetch.painpathResponse: required (this service does not query "
                                                 "the FHIR server)")
    ev = evidence(req, ckb)
    if ev is None or ev.case is None or needs_location(ev.answers, ckb):  # no place that hurts: nothing to assess
        return {"cards": []}
    done = conclude_case(ev.case, mode=ev.mode, ckb=ckb)  # type: ignore[arg-type]  # ev.mode is 'self' or 'clinician' (set with the case)
    return {"cards": [assessment_card(done.assessment, base_url=base_url, assessment_id=ev.assessment_id,
                                      level=done.level, raised=raised_lines(done.plan.note_messages), side=ev.side,
                                      ckb=ckb)]}


def _order_label(sr: dict[str, Any]) -> str | None:
    """The name of a lumbar-spine imaging order, or None."""
    code: dict[str, Any] = sr["code"] if isinstance(sr.get("code"), dict) else {}
    texts = [code.get("text")]
    for c in _list(code.get("coding")):
        if not isinstance(c, dict) or not _texts(c):
            continue
        if c.get("system") == C.LOINC and c.get("code") in LUMBAR_LOINC:
            return LUMBAR_LOINC[c["code"]]
        if c.get("system") == C.CPT and c.get("code") in LUMBAR_CPT:
            return LUMBAR_CPT[c["code"]]
        texts.append(c.get("display"))
    for t in texts:
        if isinstance(t, str) and _REGION.search(t) and _MODALITY.search(t):
            return t
    return None


def imaging_orders(context: Mapping[str, Any]) -> list[str]:
    """Names of the lumbar imaging ServiceRequests among the selected draft orders (all drafts if none match)."""
    drafts = [r for r in _resources(context.get("draftOrders")) if r.get("resourceType") == "ServiceRequest"]
    selected = {str(s) for s in _list(context.get("selections"))}
    chosen = [r for r in drafts if f"ServiceRequest/{r.get('id')}" in selected] or drafts
    return [label for r in chosen if (label := _order_label(r))]


def warning_features(ckb: CompiledKB, answers: Mapping[str, str]) -> list[str]:
    """Reasons of the warning floors, and of urgent or emergency escalations, that the present findings trigger."""
    present = {k for k, v in answers.items() if v == "present"}
    t = ckb.kb.triage
    out = [f.reason for f in t.floors if present & set(f.any) and (not f.with_any or present & set(f.with_any))]
    out += [e.reason for e in t.escalations if Level.parse(e.level).is_acute and present & set(e.any)]
    return out


def lumbar_red_flags(ckb: CompiledKB) -> tuple[str, ...]:
    """The red flags of the lumbar-imaging card, ``kb/data/triage.yaml: imaging_red_flags`` (with its source): cauda
    equina syndrome, a progressive neurological deficit, cancer, infection and fracture, each a finding whose
    presence a triage rule reports (``tests/fhir/test_cds.py``). Empty when the knowledge base lists none."""
    flags = ckb.kb.triage.imaging_red_flags
    return tuple(flags.findings) if flags is not None else ()


def red_flags(ckb: CompiledKB, answers: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(present, not recorded) among the lumbar red flags, as the findings' texts. Not recorded: never asked, or
    answered "don't know"; only a No rules a red flag out."""
    text = ckb.kb.findings.findings
    keys = lumbar_red_flags(ckb)
    present = [text[k].text for k in keys if answers.get(k) == "present"]
    unknown = [text[k].text for k in keys if answers.get(k) not in ("present", "absent")]
    return present, unknown


def lumbar_imaging(body: Any, ckb: CompiledKB, *, base_url: str = "") -> dict[str, Any]:
    req = _check_request(body, "order-select")
    orders = imaging_orders(req["context"])
    if not orders:
        return {"cards": []}
    ev = evidence(req, ckb)
    nice = ckb.kb.sources.sources.get("nice_ng59")
    nice_cite = nice.citation if nice else "NICE NG59. Low back pain and sciatica in over 16s."
    what = ", ".join(dict.fromkeys(orders))
    links = [{"label": "NICE NG59: low back pain and sciatica", "url": NICE_URL, "type": "absolute"},
             {"label": "ACP 2017 low back pain guideline", "url": ACP_2017_URL, "type": "absolute"}]
    source = {"label": "PainPath (NICE NG59; American College of Physicians)", "url": NICE_URL,
              "topic": C.painpath_code("leg-pain-assessment")}

    def card(summary: str, detail: list[str], card_links: list[dict[str, str]] = links) -> dict[str, Any]:
        return {"cards": [{"uuid": str(uuid.uuid4()), "indicator": "info", "source": source, "links": card_links,
                           "summary": _summary(summary), "detail": "\n".join(detail)}]}

    features = warning_features(ckb, ev.answers) if ev else []
    present, unknown = red_flags(ckb, ev.answers) if ev else ([], [])
    if present and not features:  # a red flag no triage rule reports for these answers (cancer without back pain)
        features = [f"Recorded: {t}." for t in present]
    if features:
        return card("Lumbar imaging may be appropriate: PainPath recorded warning features", [
            f"Order: {what}.", "",
            "PainPath recorded warning features, so the advice against routine imaging for non-specific low back "
            "pain does not apply. Imaging may be appropriate; these need clinical assessment:", "",
            *[f"- {f}" for f in features]], links[:1])
    guidance = [
        "- **NICE NG59**: do not routinely offer imaging in a non-specialist setting for people with low back pain "
        "with or without sciatica.",
        "- **American College of Physicians**: imaging is indicated only with severe or progressive neurological "
        "deficits or signs or symptoms of a serious or specific underlying condition (Chou 2011); most acute or "
        "subacute low back pain improves over time whatever the treatment, and non-drug treatment comes first "
        "(Qaseem 2017).", "",
        "Sources:", f"- {nice_cite}", f"- {ACP_2011}", f"- {ACP_2017}"]
    if ev and unknown:
        return card(f"Lumbar imaging: {len(unknown)} red flag{'s' if len(unknown) > 1 else ''} not recorded; check "
                    "before imaging (NICE NG59, ACP)", [
            f"Order: {what}.", "",
            "PainPath's answers for this patient record no warning features, but these red flags were not "
            "recorded (not asked, or answered \"don't know\"):", "",
            *[f"- {t}" for t in unknown], "",
            "Whether imaging is advised depends on them: ask about them first. If none is present, the guidance "
            "below advises against routine imaging; if any is present, imaging may be appropriate.", "",
            *guidance])
    if ev:
        return card("Routine lumbar imaging not recommended: red flags answered No (NICE NG59, ACP)", [
            f"Order: {what}.", "", "PainPath's answers for this patient record every red flag as absent (answered "
            "No), and no warning features.", "", *guidance])
    return card("Routine lumbar imaging not recommended without red flags (NICE NG59, ACP)", [
        f"Order: {what}.", "", "No PainPath answers were available to check for warning features (red flags); "
        "check for them before imaging.", "", *guidance])
