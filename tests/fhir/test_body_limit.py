"""The FHIR operations' body limit: a whole adaptive interview always fits; a larger body gets a 413 outcome."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from painpath.config import Settings
from painpath.engine import default_compiled
from painpath.fhir import codes as C
from painpath.fhir.operations import largest_adaptive_response
from tests.fhir.conftest import FHIR_JSON, about_you, answer_value

NEXT = "/fhir/Questionnaire/$next-question"
ASSESS = "/fhir/QuestionnaireResponse/$assess"
# pain around the hip and front of the thigh, No to everything else: one of the longest self interviews (20 screens)
WHERE = {"anterior_thigh_pain", "groin_pain", "outer_hip_pain"}


def _contained(qr: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in qr["contained"] if c["id"] == qr["questionnaire"][1:])


def _answer(group: dict[str, Any]) -> dict[str, Any]:
    """Yes to the places that hurt in WHERE, No to everything else (so no warning sign stops it early)."""
    phase = next(e["valueCode"] for e in group["extension"] if e["url"] == C.EXT_PHASE)
    items: list[dict[str, Any]] = []
    for it in group["item"]:
        if it["linkId"] == C.SIDE_ITEM:
            continue
        value = "present" if phase == "presenting" and it["linkId"] in WHERE else "absent"
        items.append({"linkId": it["linkId"], "text": it["text"], "answer": [answer_value(value)]})
    return {"linkId": group["linkId"], "text": group["text"], "item": items}


def test_a_long_self_interview_is_never_refused(fc: TestClient) -> None:
    qr: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}
    sizes, screens = [], 0
    for _ in range(80):
        body = json.dumps(qr)
        sizes.append(len(body.encode()))
        r = fc.post(NEXT, content=body, headers=FHIR_JSON)
        assert r.status_code == 200, (len(body), r.text[:300])
        qr = r.json()
        if qr["status"] == "completed":
            break
        group = _contained(qr)["item"][-1]
        if group["linkId"] == C.ABOUT_YOU:
            qr.setdefault("item", []).append(about_you(45, "female"))
            continue
        screens += 1
        qr.setdefault("item", []).append(_answer(group))
    else:
        raise AssertionError("the interview did not stop")
    (stop,) = [e["valueCode"] for e in qr["extension"] if e["url"] == C.EXT_STOP]
    assert stop in ("confident", "cap") and screens >= 15
    # the interview grew past the general body limit (a 413 there before), and stayed under the FHIR one
    settings = Settings()
    assert max(sizes) > settings.max_body_bytes
    assert max(sizes) < settings.fhir_max_body_bytes
    r = fc.post(ASSESS, content=json.dumps(qr, indent=2), headers=FHIR_JSON)  # pretty-printed: larger still
    assert r.status_code == 200 and r.json()["resourceType"] == "Bundle"


def test_the_limit_holds_the_largest_possible_response_with_margin() -> None:
    worst = largest_adaptive_response(default_compiled())
    items = sum(len(g.get("item", [])) for g in _contained(worst)["item"])
    assert items >= len(default_compiled().kb.findings.findings) - 1  # every finding asked (age/sex add, exam...)
    compact, pretty = len(json.dumps(worst)), len(json.dumps(worst, indent=2))
    limit = Settings().fhir_max_body_bytes
    assert 2 * compact <= limit and pretty * 1.25 <= limit


def _assert_outcome_413(r: Any, limit: int) -> None:
    assert r.status_code == 413, r.text[:300]
    assert r.headers["content-type"].startswith("application/fhir+json")
    out = r.json()
    assert out["resourceType"] == "OperationOutcome"
    (issue,) = out["issue"]
    assert issue["severity"] == "error" and issue["code"] == "too-costly"
    assert issue["diagnostics"] == f"body: larger than the limit of {limit} bytes"


def test_a_body_over_the_fhir_limit_is_a_413_outcome(fc: TestClient) -> None:
    limit = fc.app.state.settings.fhir_max_body_bytes  # type: ignore[attr-defined]
    big = {"resourceType": "QuestionnaireResponse", "status": "in-progress", "id": "x" * (limit + 1)}
    for path in (NEXT, ASSESS):
        _assert_outcome_413(fc.post(path, json=big, headers=FHIR_JSON), limit)

        def chunks() -> Any:  # without Content-Length
            yield b'{"resourceType": "QuestionnaireResponse", "id": "'
            for _ in range(limit // 4096 + 1):
                yield b"x" * 4096
            yield b'"}'

        r = fc.post(path, content=chunks(), headers=FHIR_JSON)
        assert "content-length" not in {k.lower() for k in r.request.headers}
        _assert_outcome_413(r, limit)


def test_other_paths_keep_the_general_limit(fc: TestClient) -> None:
    general = fc.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    body = {"resourceType": "QuestionnaireResponse", "status": "in-progress", "id": "x" * (general + 1)}
    # another /fhir path: the general limit, refused as an OperationOutcome
    _assert_outcome_413(fc.post("/fhir/QuestionnaireResponse", json=body, headers=FHIR_JSON), general)
    # the REST API: the general limit, as problem+json
    r = fc.post("/v1/assess", json={"age": 40, "sex": "male", "id": "x" * (general + 1)})
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
