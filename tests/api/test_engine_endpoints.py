"""The stateless engine endpoints, the catalogue and the service endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

import painpath
from painpath import __version__
from painpath.engine import ENGINE_VERSION, default_compiled
from painpath.interview import InterviewState, next_step
from tests.conftest import DEV

LEVELS = ("emergency", "urgent", "soon", "self_care")
SCIATICA = {"low_back_pain": True, "pain_below_knee": True, "pain_follows_band": True, "leg_pain_worse_than_back": True}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One app for the endpoints that touch no database (they behave the same on either)."""
    from painpath.api.app import create_app
    from painpath.config import Settings
    from painpath.storage.db import Database, upgrade

    d = tmp_path_factory.mktemp("engine-api")
    url = f"sqlite:///{d / 'painpath.sqlite3'}"
    upgrade(url)
    db = Database(url)
    with TestClient(create_app(Settings(data_dir=d, database_url=url, auto_migrate=False), db=db)) as c:
        yield c
    db.dispose()


def _assess(api, **body):  # type: ignore[no-untyped-def]
    r = api.post("/v1/assess", json={"age": 45, "sex": "male", **body})
    assert r.status_code == 200, r.text
    return r.json()


# --- /v1/assess ------------------------------------------------------------------------------------

def test_assess_result_shape(api):
    out = _assess(api, findings=SCIATICA)
    a = out["assessment"]
    ckb = default_compiled()
    probs = [c["probability"] for c in a["conditions"]]
    other = a["other"]  # a cause outside the listed conditions ("none of these")
    assert set(other) >= {"probability", "leads", "level", "message"} and a["leading"]
    assert len(probs) == len(ckb.conditions) and abs(sum(probs) + other["probability"] - 1) < 1e-6
    assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
    assert {c["key"] for c in a["conditions"]} == set(ckb.conditions)
    assert set(a["origin"]) == set(ckb.origin_names)
    assert abs(sum(a["origin"].values()) + other["probability"] - 1) < 1e-6  # "other" has no origin
    assert a["triage"]["level"] in LEVELS and a["triage"]["advice"]
    assert isinstance(a["triage"]["reasons"], list) and a["triage"]["reasons"]
    for reason in a["triage"]["reasons"]:
        assert reason["kind"] in ("floor", "condition", "escalation", "other") and reason["text"] and reason["level"] in LEVELS
    assert a["kb_version"] == ckb.kb.version and a["engine_version"] == ENGINE_VERSION
    assert a["conditions"][0]["supporting"], "the top condition explains itself"
    assert out["plan"]["level"] == a["triage"]["level"] and out["plan"]["headline"]
    assert "not a diagnosis" in a["disclaimer"]


def test_assess_triage_reasons_name_the_warning(api):
    a = _assess(api, findings={**SCIATICA, "saddle_numbness": True})["assessment"]
    assert a["triage"]["level"] == "emergency"
    floors = [x for x in a["triage"]["reasons"] if x["kind"] == "floor"]
    assert floors and floors[0]["level"] == "emergency" and floors[0]["source"]


def test_include_plan_false_and_explain_conditions(api):
    out = _assess(api, findings=SCIATICA, include_plan=False, explain_conditions=1)
    assert out["plan"] is None
    conds = out["assessment"]["conditions"]
    assert conds[0]["supporting"] and all(not c["supporting"] and not c["opposing"] for c in conds[1:])


def test_unlisted_unknown_differs_from_absent(api):
    default = _assess(api, findings=SCIATICA)["assessment"]
    absent = _assess(api, findings=SCIATICA, unlisted="absent")["assessment"]
    unknown = _assess(api, findings=SCIATICA, unlisted="unknown")["assessment"]
    assert default == unknown != absent  # unknown is the default: only what is listed counts
    pa = {c["key"]: c["probability"] for c in absent["conditions"]}
    pu = {c["key"]: c["probability"] for c in unknown["conditions"]}
    assert max(abs(pa[k] - pu[k]) for k in pa) > 1e-3
    # with every finding listed, the two rules agree
    every = {k: False for k in default_compiled().kb.finding_keys} | SCIATICA
    a1 = _assess(api, findings=every, unlisted="absent")["assessment"]
    a2 = _assess(api, findings=every)["assessment"]
    assert [c["probability"] for c in a1["conditions"]] == pytest.approx([c["probability"] for c in a2["conditions"]])


def test_clinician_mode_uses_signs(api):
    f = {**SCIATICA, "slr_positive": True, "dermatomal_sensory_loss": True}
    self_ = _assess(api, findings=f, mode="self")["assessment"]
    clin = _assess(api, findings=f, mode="clinician")["assessment"]
    assert self_["mode"] == "self" and clin["mode"] == "clinician"
    assert self_["conditions"] != clin["conditions"]


def test_dev_cases_match_the_python_api(api):
    if not DEV.is_dir() or not any(DEV.glob("*.yaml")):
        pytest.skip(f"benchmark dev cases not found at {DEV}")
    files = sorted(Path(DEV).glob("*.yaml"))
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        py = painpath.assess(data)
        out = _assess(api, id=str(data.get("id", path.stem)), age=data["age"], sex=data["sex"],
                      findings=data["findings"] or {}, unlisted="absent", include_plan=False)["assessment"]
        assert out["conditions"][0]["key"] == py.top.key, path.name
        assert out["triage"]["level"] == py.triage.level, path.name
        assert out["conditions"][0]["probability"] == pytest.approx(py.top.probability, abs=1e-9), path.name
        assert out["case_id"] == py.case_id


# --- the interview, step by step (nothing stored) ----------------------------------------------

def test_interview_start_answer_next_why(api):
    r = api.post("/v1/interview/start", json={"age": 38, "sex": "male"})
    assert r.status_code == 200
    st = r.json()
    state, nxt = st["state"], st["next"]
    assert state["answers"] == [] and state["age"] == 38
    q = nxt["question"]
    assert q is not None and q["items"] and nxt["should_stop"] is False
    # the API's next question is the Python one
    py = next_step(InterviewState.model_validate(state), default_compiled())
    assert py.question is not None and q["screen"] == py.question.screen
    answers = {i["finding"]: "absent" for i in q["items"]} | {"low_back_pain": "present", "pain_below_knee": "present"}
    r = api.post("/v1/interview/answer", json={"state": state, "answers": answers, "screen": q["screen"]})
    assert r.status_code == 200, r.text
    state2, nxt2 = r.json()["state"], r.json()["next"]
    assert {a["finding"]: a["value"] for a in state2["answers"]} == answers
    assert state2["screens_asked"] == [q["screen"]]
    assert nxt2["question"]["screen"] != q["screen"]
    # /next on the returned state gives the same step
    r = api.post("/v1/interview/next", json={"state": state2})
    assert r.status_code == 200 and r.json() == nxt2
    # /why explains the screen that would be asked
    screen = nxt2["question"]["screen"]
    r = api.post("/v1/interview/why", json={"state": state2, "screen": screen})
    assert r.status_code == 200
    why = r.json()
    assert why["screen"] == screen and why["why"] and 0 <= why["change_probability"] <= 1
    assert why["information_gain"] >= 0
    # a warning answer stops the interview at emergency
    r = api.post("/v1/interview/answer", json={"state": state2, "answers": {"bladder_problem_new": "present"}})
    nx = r.json()["next"]
    assert nx["should_stop"] is True and nx["stop_reason"] == "emergency" and nx["level"] == "emergency"


def test_interview_errors_name_the_field(api):
    state = api.post("/v1/interview/start", json={"age": 38, "sex": "male"}).json()["state"]
    r = api.post("/v1/interview/answer", json={"state": state, "answers": {"bogus_key": "present"}})
    assert r.status_code == 422 and r.json()["detail"].startswith("answers.bogus_key")
    r = api.post("/v1/interview/why", json={"state": state, "screen": "no_such_screen"})
    assert r.status_code == 422 and r.json()["detail"].startswith("screen")
    r = api.post("/v1/interview/start", json={"age": 38, "sex": "robot"})
    assert r.status_code == 422 and r.json()["detail"].startswith("body.sex")
    # every problem at once
    r = api.post("/v1/interview/answer", json={"state": state, "answers": {"bogus_key": "present", "slr_positive": "present"}})
    assert r.status_code == 422
    assert "answers.bogus_key" in r.json()["detail"] and "answers.slr_positive" in r.json()["detail"]
    # a body map that says nothing hurts anywhere is refused, and the state sent is not changed
    where = default_compiled().kb.interview.screens["where"].findings
    r = api.post("/v1/interview/answer", json={"state": state, "answers": dict.fromkeys(where, "absent"), "screen": "where"})
    assert r.status_code == 422 and "no pain anywhere" in r.json()["detail"]


# --- catalogue ---------------------------------------------------------------------------------

def test_conditions_catalogue(api):
    r = api.get("/v1/conditions")
    assert r.status_code == 200
    conds = r.json()
    kb = default_compiled().kb
    assert [c["key"] for c in conds] == list(kb.condition_keys)
    for c in conds:
        systems = {x["system"] for x in c["codes"]}
        assert "http://hl7.org/fhir/sid/icd-10-cm" in systems, c["key"]
        icd = [x["code"] for x in c["codes"] if x["system"].endswith("icd-10-cm")]
        assert icd == list(kb.conditions.conditions[c["key"]].icd10cm)
        assert 0 < c["prior_self"] < 1 and 0 < c["prior_clinic"] < 1
        assert c["origin"] in default_compiled().origin_names
    one = api.get(f"/v1/conditions/{conds[0]['key']}")
    assert one.status_code == 200 and one.json() == conds[0]
    r = api.get("/v1/conditions/not_a_condition")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_findings_catalogue_with_sourced_strengths(api):
    kb = default_compiled().kb
    listed = api.get("/v1/findings").json()
    assert [f["key"] for f in listed] == list(kb.finding_keys)
    assert all(f["strengths"] is None for f in listed)
    r = api.get("/v1/findings/pain_below_knee")
    assert r.status_code == 200
    f = r.json()
    assert f["key"] == "pain_below_knee" and f["question"] and f["kind"] in ("symptom", "history", "sign")
    strengths = f["strengths"]
    assert [s["condition"] for s in strengths] == list(kb.condition_keys)
    assert all(0 < s["probability"] < 1 for s in strengths)
    source_ids = {s["id"] for s in api.get("/v1/sources").json()}
    sourced = [s for s in strengths if s["source"]]
    assert sourced, "no strength names its source"
    assert all(s["source"] in source_ids for s in sourced)
    assert all(s["source"] or s["estimate"] for s in strengths), "every figure says where it comes from"
    lr = next(s for s in strengths if s["condition"] == "lumbar_radicular")
    assert lr["explicit"] is True and lr["source"]
    r = api.get("/v1/findings/not_a_finding")
    assert r.status_code == 404 and r.json()["detail"].startswith("key:")


# --- service ----------------------------------------------------------------------------------------

def test_version_and_health(client, db_url):
    r = client.get("/v1/version")  # versions are not told to anonymous callers
    assert r.status_code == 401 and __version__ not in r.text
    created = client.post("/v1/assessments", json={"age": 40, "sex": "female"}).json()
    r = client.get("/v1/version", headers={"Authorization": f"Bearer {created['patient_token']}"})
    assert r.status_code == 200
    v = r.json()
    assert v == {"app_version": __version__, "kb_version": default_compiled().kb.version,
                 "engine_version": ENGINE_VERSION, "database": "sqlite" if db_url.startswith("sqlite") else "postgresql"}
    r = client.get("/v1/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_openapi_and_docs(api):
    r = api.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    for p in ("/v1/assess", "/v1/interview/start", "/v1/interview/answer", "/v1/interview/next", "/v1/interview/why",
              "/v1/conditions", "/v1/conditions/{key}", "/v1/findings", "/v1/findings/{key}", "/v1/version",
              "/v1/health", "/v1/assessments", "/v1/assessments/{assessment_id}", "/v1/assessments/{assessment_id}/finish",
              "/v1/auth/login", "/v1/clinic/assessments", "/v1/clinic/export", "/v1/clinic/tokens"):
        assert p in paths, p
    assert "post" in paths["/v1/assess"] and "get" in paths["/v1/findings/{key}"]
    assert doc["info"]["title"] == "PainPath API" and doc["info"]["version"] == "1"  # the API's, not the software's
    r = api.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "swagger" in r.text.lower() and "/openapi.json" in r.text


def test_assess_reports_every_error_at_once(api):
    """Field errors, unknown finding keys and an unknown setting come back together, each named."""
    r = api.post("/v1/assess", json={"age": 300, "sex": "robot", "setting": "hospital",
                                     "findings": {"calf_pain": True, "calf_pian": True, "no_such_finding": None}})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    fields = [e["field"] for e in body["errors"]]
    assert sorted(fields) == sorted(["body.age", "body.sex", "body.setting", "body.findings.calf_pian",
                                     "body.findings.no_such_finding"]), body
    assert body["detail"].startswith(f"{fields[0]}:") and "(and 4 more, each listed in errors)" in body["detail"]
    assert all("unknown finding key" in e["message"] for e in body["errors"] if e["field"].startswith("body.findings"))
    assert "self, clinic" in next(e["message"] for e in body["errors"] if e["field"] == "body.setting")
    # the control: a single problem is reported alone, without "more"
    one = api.post("/v1/assess", json={"age": 45, "sex": "male", "findings": {"calf_pian": True}}).json()
    assert [e["field"] for e in one["errors"]] == ["body.findings.calf_pian"] and "more" not in one["detail"]


def test_omitted_finding_rule_is_in_the_openapi_description(api):
    doc = api.get("/openapi.json").json()
    op = doc["paths"]["/v1/assess"]["post"]
    schema = doc["components"]["schemas"]["AssessRequest"]
    for text in (op["description"], schema["properties"]["findings"]["description"]):
        assert "a finding you leave out is unknown" in text and "left out counts as absent" in text
    assert schema["properties"]["unlisted"]["default"] == "unknown"


def test_openapi_examples_are_valid_requests(api):
    """Each example of the request body is a request the endpoint accepts, and means what it says: the
    interview's example lists what was asked, the case file's follows the case-file rule."""
    examples = api.get("/openapi.json").json()["components"]["schemas"]["AssessRequest"]["examples"]
    assert len(examples) == 2
    for body in examples:
        r = api.post("/v1/assess", json=body)
        assert r.status_code == 200, r.text
    asked, case_file = examples
    assert "unlisted" not in asked and case_file["unlisted"] == "absent"
    py = painpath.assess(painpath.Case(id="x", age=asked["age"], sex=asked["sex"], findings=asked["findings"],
                                       unlisted="unknown"))
    got = api.post("/v1/assess", json=asked).json()["assessment"]
    assert [c["probability"] for c in got["conditions"]] == pytest.approx([c.probability for c in py.conditions])


def test_docs_need_nothing_from_other_hosts(api):
    """/docs and every file it loads come from this server, under a CSP that allows no other origin and no
    inline script (the browser test tests/browser/test_first_run.py renders it with other hosts blocked)."""
    import re

    r = api.get("/docs")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "unsafe" not in csp
    assert not re.search(r"https?://", r.text)
    assert "<script>" not in r.text  # no inline script
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/init.js", "/docs/assets/swagger-ui.css"} <= set(refs)
    for ref in refs:
        got = api.get(ref)
        assert got.status_code == 200 and got.content, ref
    assert "/openapi.json" in api.get("/docs/init.js").text
    assert api.get("/redoc").status_code == 404  # no second set of docs that would load from a CDN
