"""An assessment as FHIR R4 resources: a ``collection`` Bundle with the QuestionnaireResponse, one Observation per
present finding and per absent warning finding, a RiskAssessment (one prediction per condition) and the triage
disposition as a coded Observation.

References inside the Bundle use ``urn:uuid:`` full URLs. Ids are deterministic (UUID 5 of a seed and the
resource's role), so the same stored assessment always gives the same ids.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from painpath.assessment import Assessment
from painpath.engine import CompiledKB
from painpath.fhir import codes as C
from painpath.interview import InterviewState
from painpath.interview.state import BOTH_LEGS
from painpath.messages import LEVEL_RAISED

__all__ = ["ANONYMOUS", "build_bundle", "level_advice", "raise_reasons", "response_from_state", "risk_assessment",
           "stable_id", "warning_findings"]

OTHER_DISPLAY = "None of the listed conditions (a pattern PainPath's conditions do not explain)"
NAMESPACE = uuid.UUID("5d0c6c3e-7d55-4a55-9a57-2f6d1e0b8f11")
ANONYMOUS: dict[str, Any] = {"display": "Anonymous PainPath respondent"}


def stable_id(seed: str, role: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{seed}/{role}"))


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).isoformat(timespec="seconds")


def warning_findings(ckb: CompiledKB) -> set[str]:
    """Findings of the warning screens (interview.yaml, phase ``warning``): their absence is reported too."""
    return {k for sc in ckb.kb.interview.screens.values() if sc.phase == "warning" for k in sc.findings}


def _concept(ckb: CompiledKB, key: str) -> dict[str, Any]:
    text = ckb.kb.findings.findings[key].text
    return {"coding": [C.coding(C.FINDING_SYSTEM, key, text)], "text": text}


def leg_findings(ckb: CompiledKB) -> set[str]:
    """The body map's findings about the legs (the ``where`` screen's, but low back pain): the side, when known,
    is their Observations' ``bodySite``."""
    sc = ckb.kb.interview.screens.get("where")
    return {k for k in (sc.findings if sc else ()) if k != "low_back_pain"}


def finding_observation(ckb: CompiledKB, key: str, present: bool, *, oid: str, qr_url: str,
                        subject: Mapping[str, Any], effective: str | None, side: str | None = None) -> dict[str, Any]:
    sign = ckb.kb.findings.findings[key].kind == "sign"
    cat = ("exam", "Exam") if sign else ("survey", "Survey")
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [C.coding(C.OBS_CATEGORY, cat[0], cat[1])]}],
        "code": _concept(ckb, key),
        "subject": dict(subject),
        "valueBoolean": present,
        "derivedFrom": [{"reference": qr_url}],
    }
    if side in C.LATERALITY:
        obs["bodySite"] = {"coding": [dict(C.LATERALITY[side])], "text": C.LATERALITY_TEXT[side]}
    if effective:
        obs["effectiveDateTime"] = effective
    return obs


def _outcome(ckb: CompiledKB, cond: Any) -> dict[str, Any]:
    """ICD-10-CM from the result itself (what was stored); SNOMED CT and WHO ICD-10 from the knowledge base."""
    c = ckb.kb.conditions.conditions.get(cond.key)
    codings = [C.coding(C.ICD10CM, code) for code in cond.icd10cm]
    if c is not None:
        codings += [C.coding(C.SNOMED, s.code, s.display) for s in c.snomed]
        codings += [C.coding(C.ICD10_WHO, w.code, w.display) for w in c.icd10_who]
    codings.append(C.coding(C.CONDITION_SYSTEM, cond.key, cond.name))
    return {"coding": codings, "text": cond.name}


def _rationale(cond: Any) -> str | None:
    parts = []
    if cond.supporting:
        parts.append("For: " + "; ".join(f"{e.text} ({e.answer}, {e.weight:+.2f})" for e in cond.supporting))
    if cond.opposing:
        parts.append("Against: " + "; ".join(f"{e.text} ({e.answer}, {e.weight:+.2f})" for e in cond.opposing))
    return ". ".join(parts) + "." if parts else None


def risk_assessment(ckb: CompiledKB, result: Assessment, *, rid: str, subject: Mapping[str, Any],
                    occurrence: str | None = None, basis: Sequence[str] = (),
                    identifier: str | None = None, level: str | None = None) -> dict[str, Any]:
    """One prediction per condition (most probable first): ICD-10-CM always, SNOMED CT where the KB has it; and,
    when the knowledge base has the unexplained-pattern class, "other" (condition code ``other``, plain words in
    ``rationale``) at its rank. ``level``: the final level (default the engine's triage level), whose advice is
    the ``mitigation``."""
    preds = []
    for cond in result.conditions:
        p: dict[str, Any] = {"outcome": _outcome(ckb, cond), "probabilityDecimal": round(cond.probability, 6)}
        why = _rationale(cond)
        if why:
            p["rationale"] = why
        preds.append(p)
    other = getattr(result, "other", None)
    if other is not None:  # "none of these": a pattern the listed conditions do not explain, in rank order
        at = next((i for i, c in enumerate(result.conditions) if other.probability > c.probability),
                  len(result.conditions))
        pred: dict[str, Any] = {"outcome": {"coding": [C.coding(C.CONDITION_SYSTEM, "other", OTHER_DISPLAY)],
                                            "text": OTHER_DISPLAY},
                                "probabilityDecimal": round(other.probability, 6)}
        if other.message:
            pred["rationale"] = other.message
        preds.insert(at, pred)
    ra: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": rid,
        "status": "final",
        "code": {"coding": [C.painpath_code("leg-pain-assessment")], "text": "PainPath leg-pain assessment"},
        "subject": dict(subject),
        "method": {"text": f"PainPath engine {result.engine_version}, knowledge base {result.kb_version}, "
                           f"{result.mode} mode, {result.setting} setting"},
        "prediction": preds,
        "mitigation": level_advice(ckb, result, level),
        "note": [{"text": result.disclaimer}],
    }
    if identifier:
        ra["identifier"] = [{"system": C.ASSESSMENT_ID_SYSTEM, "value": identifier}]
    if occurrence:
        ra["occurrenceDateTime"] = occurrence
    if basis:
        ra["basis"] = [{"reference": b} for b in basis]
    return ra


def level_advice(ckb: CompiledKB, result: Assessment, level: str | None) -> str:
    """The advice of ``level`` (a final level; None: the engine's triage level, whose advice is its own)."""
    if level is None or level == result.triage.level:
        return result.triage.advice
    return ckb.kb.triage.level_text.get(level, result.triage.advice)  # type: ignore[call-overload]  # level is a LevelName value


def raise_reasons(level: str | None, result: Assessment, plan: Mapping[str, Any] | None,
                  followup: Mapping[str, Any] | None = None) -> list[str]:
    """Why ``level`` (the final level) is above the engine's triage level: the care plan's notes that say what
    raised it (the plan's condition's lowest level, a follow-up; ``plan`` as JSON), with the follow-up's reasons
    when it was the follow-up. A plan stored before the plan said so (no note ids) falls back to the follow-up's
    ``escalated``."""
    if not level or level == result.triage.level:
        return []
    fu = followup or {}
    plan = plan or {}
    messages, texts = plan.get("note_messages") or [], plan.get("notes") or []
    if messages and len(messages) == len(texts):
        raised = [(m.get("id"), str(t)) for m, t in zip(messages, texts, strict=True) if m.get("id") in LEVEL_RAISED]
        by_followup = any(mid == LEVEL_RAISED[1] for mid, _ in raised)
        out = [t for _, t in raised]
    else:
        by_followup, out = bool(fu.get("escalated")), []
    if by_followup:
        out.append("Follow-up raised the level: " + "; ".join(str(r) for r in fu.get("reasons") or []))
    return out


def triage_observation(ckb: CompiledKB, result: Assessment, *, oid: str, qr_url: str, subject: Mapping[str, Any],
                       level: str | None = None, extra_reasons: Sequence[str] = (), effective: str | None = None,
                       derived: Sequence[str] = ()) -> dict[str, Any]:
    level = level or result.triage.level
    advice = ckb.kb.triage.level_text.get(level, result.triage.advice)  # type: ignore[call-overload]  # level is a LevelName value
    sources = ckb.kb.sources.sources
    notes = []
    for r in result.triage.reasons:
        src = sources.get(r.source) if r.source else None
        cite = f" Source: {src.citation}" if src else (f" Source: {r.source}." if r.source else "")
        notes.append({"text": f"{r.text} [{r.kind} {r.id}, {r.level}].{cite}"})
    notes += [{"text": t} for t in extra_reasons]
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [C.painpath_code("triage-disposition")], "text": "PainPath triage disposition"},
        "subject": dict(subject),
        "valueCodeableConcept": {"coding": [C.coding(C.TRIAGE_SYSTEM, level, C.LEVEL_DISPLAY[level])],
                                 "text": advice},
        "derivedFrom": [{"reference": qr_url}, *({"reference": d} for d in derived)],
    }
    if effective:
        obs["effectiveDateTime"] = effective
    if notes:
        obs["note"] = notes
    return obs


def _fired_findings(ckb: CompiledKB, result: Assessment, answers: Mapping[str, str]) -> list[str]:
    """Present findings that fired a warning floor or escalation named in the triage reasons."""
    t = ckb.kb.triage
    rules = {f.id: [*f.any, *f.with_any] for f in t.floors} | {e.id: list(e.any) for e in t.escalations}
    out: list[str] = []
    for r in result.triage.reasons:
        for k in rules.get(r.id, []):
            if answers.get(k) == "present" and k not in out:
                out.append(k)
    return out


def build_bundle(ckb: CompiledKB, qr: Mapping[str, Any], answers: Mapping[str, str], result: Assessment, *,
                 seed: str, bundle_id: str | None = None, level: str | None = None,
                 extra_reasons: Sequence[str] = (), risk_id: str | None = None,
                 assessment_id: str | None = None, side: str | None = None) -> dict[str, Any]:
    """The ``collection`` Bundle for one assessment. ``answers``: finding -> present | absent | unknown; ``level``:
    the final level (the triage disposition, the RiskAssessment's mitigation), ``extra_reasons`` saying why it is
    above the engine's; ``side`` (left, right, both): which leg, the ``bodySite`` of the present leg findings'
    Observations."""
    qr_id = qr.get("id") if isinstance(qr.get("id"), str) and _is_uuid(qr["id"]) else stable_id(seed, "qr")
    qr = {"resourceType": "QuestionnaireResponse", "id": qr_id,
          **{k: v for k, v in qr.items() if k not in ("resourceType", "id")}}
    qr_url = f"urn:uuid:{qr_id}"
    subject: Mapping[str, Any] = qr["subject"] if isinstance(qr.get("subject"), dict) else ANONYMOUS
    effective = qr.get("authored") if isinstance(qr.get("authored"), str) else None
    warn = warning_findings(ckb)
    legs = leg_findings(ckb) if side else set()
    entries: list[dict[str, Any]] = [{"fullUrl": qr_url, "resource": qr}]
    obs_urls: dict[str, str] = {}
    for key in ckb.findings:  # knowledge-base order (answers to findings the KB no longer has are left out)
        v = answers.get(key)
        if v == "present" or (v == "absent" and key in warn):
            oid = stable_id(seed, f"obs/{key}")
            url = f"urn:uuid:{oid}"
            obs_urls[key] = url
            entries.append({"fullUrl": url, "resource": finding_observation(
                ckb, key, v == "present", oid=oid, qr_url=qr_url, subject=subject, effective=effective,
                side=side if v == "present" and key in legs else None)})
    rid = risk_id or stable_id(seed, "risk")
    ra = risk_assessment(ckb, result, rid=rid, subject=subject, occurrence=effective,
                         basis=[qr_url, *obs_urls.values()], identifier=assessment_id, level=level)
    tid = stable_id(seed, "triage")
    tri = triage_observation(ckb, result, oid=tid, qr_url=qr_url, subject=subject, level=level,
                             extra_reasons=extra_reasons, effective=effective,
                             derived=[obs_urls[k] for k in _fired_findings(ckb, result, answers) if k in obs_urls])
    entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": ra})
    entries.append({"fullUrl": f"urn:uuid:{tid}", "resource": tri})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": bundle_id or stable_id(seed, "bundle"),
        "type": "collection",
        "timestamp": now_iso(),
        "entry": entries,
    }
    if assessment_id:
        bundle["identifier"] = {"system": C.ASSESSMENT_ID_SYSTEM, "value": assessment_id}
    return bundle


def _is_uuid(s: str) -> bool:
    try:
        return str(uuid.UUID(s)) == s.lower()
    except ValueError:
        return False


def response_from_state(ckb: CompiledKB, state: InterviewState, *, qr_id: str, kb_version: str,
                        status: str = "completed", authored: str | None = None,
                        subject: Mapping[str, Any] | None = None, assessment_id: str | None = None) -> dict[str, Any]:
    """A stored interview as a QuestionnaireResponse to the static PainPath Questionnaire (groups in its order),
    with which leg (``painpath-side``) after ``pain_both_legs`` when the interview knows it."""
    from painpath.fhir.questionnaire import SIDE_TEXT, screen_of

    where = screen_of(ckb)
    values = state.answer_map
    groups: list[dict[str, Any]] = [{"linkId": C.ABOUT_YOU, "text": "About you", "item": [
        {"linkId": "age", "text": "How old are you?", "answer": [{"valueInteger": state.age}]},
        {"linkId": "sex", "text": "What sex were you born with?",
         "answer": [{"valueCoding": dict(C.FEMALE if state.sex == "female" else C.MALE)}]},
    ]}]
    findings = ckb.kb.findings.findings
    for name, sc in ckb.kb.interview.screens.items():
        items = []
        for k in sc.findings:
            if k in values and where[k] == name:
                f = findings[k]
                text = f.clinician_question if (state.mode == "clinician" or f.kind == "sign") and \
                    f.clinician_question else f.question
                items.append({"linkId": k, "text": text, "answer": [{"valueCoding": dict(C.CODING_OF[values[k]])}]})
                if k == BOTH_LEGS and state.side in C.LATERALITY:
                    items.append({"linkId": C.SIDE_ITEM, "text": SIDE_TEXT,
                                  "answer": [{"valueCoding": dict(C.LATERALITY[state.side])}]})
        if items:
            groups.append({"linkId": name, "text": sc.title, "item": items})
    qr: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": qr_id,
        "meta": {"tag": [C.painpath_code("painpath-response")]},
        "extension": [{"url": C.EXT_MODE, "valueCode": state.mode}],
        "questionnaire": f"{C.QUESTIONNAIRE_URL}|{kb_version}",
        "status": status,
        "subject": dict(subject or ANONYMOUS),
        "item": groups,
    }
    if assessment_id:
        qr["identifier"] = {"system": C.ASSESSMENT_ID_SYSTEM, "value": assessment_id}
    if authored:
        qr["authored"] = authored
    return qr
