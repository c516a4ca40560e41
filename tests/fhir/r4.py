"""Checking emitted resources against FHIR R4.

1. Structure: the ``fhir.resources.R4B`` pydantic models (cardinality, data types, unknown elements, choice
   types, nested and contained resources). R4B is wire-compatible with R4 for every resource PainPath emits
   (Questionnaire, QuestionnaireResponse, Observation, RiskAssessment, Bundle, OperationOutcome,
   CapabilityStatement); only R4 elements are used.
2. Codes of required bindings, which the models do not check, against the R4 value sets (listed below).
3. Invariants the models do not check: ids, que-1/que-2/que-4/que-7/que-12 on questionnaires, linkIds of a
   response resolving in its (contained) questionnaire, unique ``urn:uuid`` full URLs and resolvable references
   in bundles, ras-2 (probability <= 100).
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from tests.fhir import official

ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
PUBLICATION_STATUS = {"draft", "active", "retired", "unknown"}
ITEM_TYPES = {"group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string", "text",
              "url", "choice", "open-choice", "attachment", "reference", "quantity"}
OPERATORS = {"exists", "=", "!=", ">", "<", ">=", "<="}
QR_STATUS = {"in-progress", "completed", "amended", "entered-in-error", "stopped"}
OBS_STATUS = {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error",
              "unknown"}
BUNDLE_TYPES = {"document", "message", "transaction", "transaction-response", "batch", "batch-response",
                "history", "searchset", "collection"}
ISSUE_SEVERITY = {"fatal", "error", "warning", "information"}
ISSUE_TYPES = {"invalid", "structure", "required", "value", "invariant", "security", "login", "unknown", "expired",
               "forbidden", "suppressed", "processing", "not-supported", "duplicate", "multiple-matches",
               "not-found", "deleted", "too-long", "code-invalid", "extension", "too-costly", "business-rule",
               "conflict", "transient", "lock-error", "no-store", "exception", "timeout", "incomplete",
               "throttled", "informational"}


def _ids(res: dict[str, Any], errors: list[str], where: str) -> None:
    if "id" in res and not ID.match(str(res["id"])):
        errors.append(f"{where}.id: {res['id']!r} is not a FHIR id")


def _q_items(items: list[dict[str, Any]], where: str, links: set[str], errors: list[str]) -> None:
    for i, it in enumerate(items):
        at = f"{where}[{i}]"
        if it["linkId"] in links:
            errors.append(f"{at}: que-2 duplicate linkId {it['linkId']}")
        links.add(it["linkId"])
        t = it.get("type")
        if t not in ITEM_TYPES:
            errors.append(f"{at}.type: {t!r}")
        if t == "group" and not it.get("item"):
            errors.append(f"{at}: que-1a group without items")
        if t == "display" and it.get("item"):
            errors.append(f"{at}: que-1c display with items")
        if it.get("answerOption") and t not in ("choice", "open-choice"):
            errors.append(f"{at}: que-4 answerOption on {t}")
        ew = it.get("enableWhen") or []
        for e in ew:
            if e.get("operator") not in OPERATORS:
                errors.append(f"{at}.enableWhen.operator: {e.get('operator')!r}")
            answers = [k for k in e if k.startswith("answer")]
            if len(answers) != 1:
                errors.append(f"{at}: que-7 enableWhen needs exactly one answer[x]")
        if len(ew) > 1 and it.get("enableBehavior") not in ("all", "any"):
            errors.append(f"{at}: que-12 enableBehavior required with several enableWhen")
        _q_items(it.get("item") or [], f"{at}.item", links, errors)


def _questionnaire(q: dict[str, Any], where: str, errors: list[str]) -> set[str]:
    if q.get("status") not in PUBLICATION_STATUS:
        errors.append(f"{where}.status: {q.get('status')!r}")
    links: set[str] = set()
    _q_items(q.get("item") or [], f"{where}.item", links, errors)
    for e in _all(q.get("item") or [], "enableWhen"):
        if e["question"] not in links:
            errors.append(f"{where}: enableWhen.question {e['question']} is not a linkId")
    return links


def _all(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    out = []
    for it in items:
        out += it.get(key) or []
        out += _all(it.get("item") or [], key)
    return out


def _qr_links(items: list[dict[str, Any]]) -> list[str]:
    out = []
    for it in items:
        out.append(it["linkId"])
        out += _qr_links(it.get("item") or [])
        for a in it.get("answer") or []:
            out += _qr_links(a.get("item") or [])
    return out


def _check(res: dict[str, Any], where: str, errors: list[str]) -> None:
    rt = res["resourceType"]
    _ids(res, errors, where)
    for i, c in enumerate(res.get("contained") or []):
        _check(c, f"{where}.contained[{i}]", errors)
    if rt == "Questionnaire":
        _questionnaire(res, where, errors)
    elif rt == "QuestionnaireResponse":
        if res.get("status") not in QR_STATUS:
            errors.append(f"{where}.status: {res.get('status')!r}")
        ref = res.get("questionnaire", "")
        if ref.startswith("#"):
            qs = [c for c in res.get("contained") or [] if c.get("id") == ref[1:]]
            if not qs:
                errors.append(f"{where}.questionnaire: {ref} not contained")
            else:
                links = _questionnaire(qs[0], f"{where}.contained", [])
                for link in _qr_links(res.get("item") or []):
                    if link not in links:
                        errors.append(f"{where}: linkId {link} not in the contained questionnaire")
        for c in res.get("contained") or []:  # dom-3: contained resources are referenced
            if ref != f"#{c.get('id')}":
                errors.append(f"{where}: dom-3 contained {c.get('id')} is not referenced")
    elif rt == "Observation":
        if res.get("status") not in OBS_STATUS:
            errors.append(f"{where}.status: {res.get('status')!r}")
    elif rt == "RiskAssessment":
        if res.get("status") not in OBS_STATUS:
            errors.append(f"{where}.status: {res.get('status')!r}")
        for i, p in enumerate(res.get("prediction") or []):
            if "probabilityDecimal" in p and not 0 <= p["probabilityDecimal"] <= 100:
                errors.append(f"{where}.prediction[{i}]: ras-2")
    elif rt == "Bundle":
        if res.get("type") not in BUNDLE_TYPES:
            errors.append(f"{where}.type: {res.get('type')!r}")
        urls = [e.get("fullUrl") for e in res.get("entry") or []]
        if len(urls) != len(set(urls)):
            errors.append(f"{where}: duplicate fullUrl")
        for i, e in enumerate(res.get("entry") or []):
            _check(e["resource"], f"{where}.entry[{i}].resource", errors)
            for ref in _refs(e["resource"]):
                if ref.startswith("urn:uuid:") and ref not in urls:
                    errors.append(f"{where}.entry[{i}]: reference {ref} does not resolve in the bundle")
    elif rt == "OperationOutcome":
        for i, issue in enumerate(res.get("issue") or []):
            if issue.get("severity") not in ISSUE_SEVERITY or issue.get("code") not in ISSUE_TYPES:
                errors.append(f"{where}.issue[{i}]: severity/code {issue.get('severity')}/{issue.get('code')}")
    elif rt == "CapabilityStatement":
        if res.get("kind") not in ("instance", "capability", "requirements") or res.get("fhirVersion") != "4.0.1":
            errors.append(f"{where}: kind/fhirVersion")
        if res.get("status") not in PUBLICATION_STATUS:
            errors.append(f"{where}.status")
        for r in res.get("rest") or []:
            if r.get("mode") not in ("client", "server"):
                errors.append(f"{where}.rest.mode")
            for rr in r.get("resource") or []:
                for it in rr.get("interaction") or []:
                    if it["code"] not in ("read", "vread", "update", "patch", "delete", "history-instance",
                                          "history-type", "create", "search-type"):
                        errors.append(f"{where}: interaction {it['code']}")


def _refs(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "reference" and isinstance(v, str):
                out.append(v)
            else:
                out += _refs(v)
    elif isinstance(node, list):
        for v in node:
            out += _refs(v)
    return out


def validate(resource: dict[str, Any]) -> None:
    """Raise AssertionError unless ``resource`` is valid FHIR R4 (as far as the checks above go)."""
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(resource)
    errors: list[str] = []
    _check(resource, resource["resourceType"], errors)
    assert not errors, "\n".join(errors)
    official_errors = official.check(resource)  # the R4 JSON schema, R4 constraints and SDC profiles
    assert not official_errors, "\n".join(official_errors)
