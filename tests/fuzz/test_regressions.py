"""The failures the fuzzers found, pinned with the smallest input of each (they were 500s or tracebacks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from painpath.cases import load_case, parse_case
from painpath.engine import default_compiled
from painpath.errors import CaseError, KnowledgeBaseError
from painpath.fhir import codes as C
from tests.fuzz import harness

CKB = default_compiled()
CASE = {"age": 40, "sex": "male", "findings": {}}


@pytest.mark.parametrize("gold", [
    {"condition": ["a"], "triage": "soon"},  # unhashable: was TypeError
    {"condition": {"a": 1}, "triage": "soon"},
    {"condition": harness.CONDITIONS[0], "triage": "soon", "also_acceptable": [[1]]},
])
def test_parse_case_unhashable_gold(gold: dict[str, Any]) -> None:
    with pytest.raises(CaseError, match="gold"):
        parse_case({**CASE, "gold": gold}, CKB)


@pytest.mark.parametrize(("name", "text"), [
    ("a.yaml", "age: 2020-99-99\n"),  # PyYAML: ValueError
    ("b.yaml", 'age: !!int ""\n'),  # IndexError
    ("c.yaml", 'age: !!bool ""\n'),  # KeyError
    ("d.yaml", 'age: !!timestamp ""\n'),  # AttributeError
    ("e.yaml", "x: 2001-12-14t21:59:43.10-99:99\n"),
    ("f.json", "[" * 100_000 + "]" * 100_000),  # RecursionError
    ("g.json", '{"age": ' + "9" * 5000 + "}"),  # past Python's int digit limit: ValueError
])
def test_load_case_malformed_values(tmp_path: Path, name: str, text: str) -> None:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    with pytest.raises(CaseError, match="malformed|age"):
        load_case(p, CKB)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00", b'findings: !!int ""\n', b"x: 2020-99-99\n"])
def test_load_kb_malformed_file(tmp_path: Path, content: bytes) -> None:
    from painpath.kb import load_kb
    from tests.conftest import TINY_KB

    for f in TINY_KB.glob("*.yaml"):
        (tmp_path / f.name).write_bytes(content if f.name == "findings.yaml" else f.read_bytes())
    with pytest.raises(KnowledgeBaseError) as exc:
        load_kb(tmp_path)
    assert any(p.startswith("findings.yaml") for p in exc.value.problems), exc.value.problems


def _cli(args: list[str], cwd: Path) -> Any:
    import os

    from typer.testing import CliRunner

    from painpath.cli import app

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(app, args)
    finally:
        os.chdir(old)


def test_followup_with_a_binary_or_malformed_file(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("pain: 5\n")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "date.yaml").write_text("pain: 2020-99-99\n")
    for bad in ("bin.json", "date.yaml"):
        r = _cli(["followup", "ok.yaml", bad], tmp_path)
        assert r.exit_code == 2 and isinstance(r.exception, SystemExit), (bad, r.exception)
        assert "Traceback" not in r.output and bad in r.output


def test_kb_check_with_a_malformed_benchmark(tmp_path: Path) -> None:
    (tmp_path / "conditions.yaml").write_text("conditions: [1, 2\n")
    (tmp_path / "findings.yaml").write_text("findings: {}\n")
    r = _cli(["kb", "check", "--benchmark", str(tmp_path)], tmp_path)
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.exception
    assert "benchmark" in r.output and "Traceback" not in r.output
    (tmp_path / "conditions.yaml").write_text("conditions: {sciatica: {}}\n")  # a missing key: was KeyError
    r = _cli(["kb", "check", "--benchmark", str(tmp_path)], tmp_path)
    assert r.exit_code == 1 and "Traceback" not in r.output


# --- HTTP -------------------------------------------------------------------------------------------------------


def test_api_messages_quoting_a_lone_surrogate(client: TestClient) -> None:
    """JSON may hold "\\ud800"; a message quoting it could not be encoded as UTF-8 (was a 500)."""
    r = client.post("/v1/assessments", json={"age": 40, "sex": "male"})
    aid, h = r.json()["assessment"]["id"], {"Authorization": f"Bearer {r.json()['patient_token']}"}
    for method, url, body in (("PUT", f"/v1/assessments/{aid}/answers", '{"answers": {"a\\ud800": "present"}}'),
                              ("POST", "/v1/assess", '{"age": 3, "sex": "male", "findings": {"\\ud800": true}}'),
                              ("POST", f"/v1/assessments/{aid}/withdraw", '{"findings": ["\\udfff"]}')):
        r = client.request(method, url, content=body, headers={**h, "content-type": "application/json"})
        assert r.status_code == 422, (url, r.status_code, r.text[:200])
        harness.check_problem(r)
        assert "\ud800" in r.json()["detail"] or "\udfff" in r.json()["detail"]  # the same text, escaped in JSON


def test_fhir_and_cds_inputs_that_were_500s(fhir_app: dict[str, Any]) -> None:
    c: TestClient = fhir_app["client"]
    fhir = {"content-type": "application/fhir+json"}
    qr = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}
    for body, status in (
        (json.dumps({**qr, "contained": [{"resourceType": 5}]}), 400),  # fhir.resources: TypeError
        (json.dumps({**qr, "contained": [{"resourceType": "Nope"}]}), 400),  # KeyError
        ('{"resourceType": "Parameters", "parameter": [{"name": "\\ud800"}]}', 422),  # surrogate in the message
        ('{"resourceType": "QuestionnaireResponse", "id": ' + "1" * 5000 + "}", 400),  # int digit limit
        ("[" * 500 + "]" * 500, 400),  # deep enough to break copy.deepcopy
    ):
        for url in (harness.NEXT, harness.ASSESS):
            r = c.post(url, content=body, headers=fhir)
            assert r.status_code == status, (url, body[:60], r.status_code, r.text[:200])
            harness.check_outcome(r)
    keys = fhir_app["keys"]
    base = harness.cds_templates()
    img, pv_obs = base[harness.IMG][0], base[harness.PV][2]
    order = img["context"]["draftOrders"]["entry"][0]["resource"]
    cases = [
        (harness.IMG, {**img, "context": {**img["context"], "selections": 1.5}}),  # was TypeError
        (harness.IMG, {**img, "context": {**img["context"], "draftOrders": {"resourceType": "Bundle", "entry": 7}}}),
        (harness.IMG, {**img, "context": {**img["context"], "draftOrders": {
            "resourceType": "Bundle",
            "entry": [{"resource": {**order, "code": {"coding": [{"system": C.LOINC, "code": {"x": 1}}]}}}]}}}),
        (harness.IMG, {**img, "context": {**img["context"], "draftOrders": {
            "resourceType": "Bundle", "entry": [{"resource": {**order, "code": {"coding": 3}}}]}}}),
        (harness.PV, {**pv_obs, "prefetch": {**pv_obs["prefetch"], "painpathResponse": {
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": C.FINDING_SYSTEM, "code": ["a"]}]}}}}),
        (harness.PV, {**pv_obs, "prefetch": {**pv_obs["prefetch"], "painpathResponse": {
            "resourceType": "Observation", "status": "final", "code": "low_back_pain", "valueCodeableConcept": 3}}}),
        (harness.PV, {**pv_obs, "prefetch": {**pv_obs["prefetch"], "painpathResponse": {
            "resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": "#q", "contained": 1}}}),
    ]
    for service, body in cases:
        r = c.post(f"/cds-services/{service}", json=body,
                   headers={"Authorization": f"Bearer {keys.token(service)}"})
        assert r.status_code < 500, (service, r.status_code, r.text[:200])
        harness.check_cds(r)
