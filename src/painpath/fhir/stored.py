"""Stored, finished assessments as FHIR: ``Bundle/{id}`` and ``RiskAssessment/{id}``.

The stored result is used as it was computed (its knowledge-base and engine versions), not recomputed; the
triage disposition (and the RiskAssessment's mitigation) is the stored level: the engine's triage level, raised to
the lowest level of the condition the care plan is for and to what a follow-up calls for
(``painpath.services.final_level``), with notes saying which.
"""

from __future__ import annotations

from typing import Any

from painpath.assessment import Assessment
from painpath.engine import CompiledKB
from painpath.fhir import codes as C
from painpath.fhir.results import (
    ANONYMOUS,
    build_bundle,
    iso,
    raise_reasons,
    response_from_state,
    risk_assessment,
    stable_id,
)
from painpath.interview import InterviewState
from painpath.storage.models import AssessmentRecord

__all__ = ["stored_bundle", "stored_risk_assessment", "subject_of"]


def subject_of(rec: AssessmentRecord) -> dict[str, Any]:
    """The clinic's own patient reference as an identifier, else an anonymous display-only reference."""
    if rec.patient_ref and rec.clinic_id is not None:
        return {"identifier": {"system": f"{C.PATIENT_REF_SYSTEM}/clinic-{rec.clinic_id}", "value": rec.patient_ref}}
    return dict(ANONYMOUS)


def stored_bundle(ckb: CompiledKB, rec: AssessmentRecord) -> dict[str, Any]:
    state = InterviewState.model_validate(rec.state)
    result = Assessment.model_validate(rec.result)
    qr = response_from_state(ckb, state, qr_id=stable_id(rec.id, "qr"), kb_version=rec.kb_version,
                             authored=iso(rec.finished_at), subject=subject_of(rec), assessment_id=rec.id)
    return build_bundle(ckb, qr, state.answer_map, result, seed=rec.id, bundle_id=rec.id, level=rec.triage_level,
                        extra_reasons=raise_reasons(rec.triage_level, result, rec.plan, rec.followup), risk_id=rec.id,
                        assessment_id=rec.id, side=state.side)


def stored_risk_assessment(ckb: CompiledKB, rec: AssessmentRecord) -> dict[str, Any]:
    result = Assessment.model_validate(rec.result)
    return risk_assessment(ckb, result, rid=rec.id, subject=subject_of(rec), occurrence=iso(rec.finished_at),
                           identifier=rec.id, level=rec.triage_level)
