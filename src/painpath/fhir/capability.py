"""The CapabilityStatement served at ``GET /fhir/metadata``."""

from __future__ import annotations

from typing import Any

from painpath.fhir import codes as C


def capability_statement(*, version: str, kb_version: str, base_url: str = "", date: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    cs: dict[str, Any] = {
        "resourceType": "CapabilityStatement",
        "id": "painpath",
        "url": f"{C.BASE}/CapabilityStatement/painpath",
        "version": version,
        "name": "PainPathFhir",
        "title": "PainPath FHIR interface",
        "status": "active",
        "experimental": False,
        "date": date,
        "publisher": "PainPath",
        "description": (
            "PainPath's FHIR R4 interface: the interview as a Questionnaire, SDC adaptive $next-question, "
            "$assess of a completed QuestionnaireResponse into a Bundle (Observations, RiskAssessment, triage "
            f"disposition), and stored assessments as Bundle and RiskAssessment. Knowledge base {kb_version}. "
            "CDS Hooks services are described at /cds-services. PainPath gives information, not a diagnosis."),
        "kind": "instance",
        "software": {"name": "PainPath", "version": version},
        "implementation": {"description": "PainPath FHIR endpoint"},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "JSON only. Errors are OperationOutcome resources with a 4xx status.",
            "security": {
                "cors": False,
                "description": (
                    "Questionnaire, metadata, $next-question and $assess need no credentials (nothing is stored). "
                    "Bundle/{id} and RiskAssessment/{id} need 'Authorization: Bearer <token>' (a clinician's "
                    "session, an API key or the patient's own token), with the same tenancy rules as "
                    "GET /v1/assessments/{id}; an assessment you may not see is 404."),
            },
            "resource": [
                {"type": "Questionnaire", "profile": "http://hl7.org/fhir/StructureDefinition/Questionnaire",
                 "documentation": "Only Questionnaire/painpath (the whole interview, from the knowledge base).",
                 "interaction": [{"code": "read"}],
                 "operation": [{"name": "next-question", "definition": C.SDC_NEXT_QUESTION,
                                "documentation": "SDC adaptive form: POST a QuestionnaireResponse (or Parameters "
                                                 "with 'questionnaire-response' and optional 'mode')."}]},
                {"type": "QuestionnaireResponse",
                 "operation": [{"name": "assess", "definition": C.ASSESS_OPERATION_URL,
                                "documentation": "POST a completed QuestionnaireResponse; returns a collection "
                                                 "Bundle. Nothing is stored."}]},
                {"type": "Bundle", "interaction": [{"code": "read"}],
                 "documentation": "Bundle/{assessment id}: a finished stored assessment as a collection Bundle."},
                {"type": "RiskAssessment", "interaction": [{"code": "read"}],
                 "documentation": "RiskAssessment/{assessment id}: the conditions of a finished stored assessment."},
            ],
        }],
    }
    if base:
        cs["implementation"]["url"] = f"{base}/fhir"
    return cs
