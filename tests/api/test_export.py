"""The clinic export: CSV (one row per assessment, formula-safe) and JSON (full records), only the clinic's own."""

from __future__ import annotations

import csv
import io

from painpath.api.routes_stored import EXPORT_COLUMNS
from tests.conftest import login

HEADER = ["id", "status", "mode", "patient_ref", "age", "sex", "triage_level", "top_condition", "top_probability",
          "followup_of", "created_at", "finished_at", "kb_version", "engine_version"]


def _rows(r) -> tuple[list[str], list[dict[str, str]]]:  # type: ignore[no-untyped-def]
    reader = csv.reader(io.StringIO(r.text))
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


def _create(client, headers, **body):  # type: ignore[no-untyped-def]
    r = client.post("/v1/assessments", headers=headers, json={"age": 50, "sex": "female", **body})
    assert r.status_code == 201, r.text
    return r.json()["assessment"]["id"]


def test_csv_and_json_export(client, make_clinic):
    a, b = make_clinic(("clinician",)), make_clinic(("clinician",))
    ah, bh = login(client, a["clinician_email"]), login(client, b["clinician_email"])
    # an empty clinic exports just the header
    r = client.get("/v1/clinic/export", headers=ah)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert _rows(r) == (HEADER, [])
    assert EXPORT_COLUMNS == HEADER

    done = _create(client, ah, patient_ref="A-001", age=63, sex="male")
    client.put(f"/v1/assessments/{done}/answers", headers=ah,
               json={"answers": {"low_back_pain": "present", "pain_below_knee": "present"}})
    fin = client.post(f"/v1/assessments/{done}/finish", headers=ah).json()
    open_ = _create(client, ah, patient_ref="A-002")
    fu = client.post(f"/v1/assessments/{done}/followups", headers=ah).json()["assessment"]["id"]
    _create(client, bh, patient_ref="B-001")

    r = client.get("/v1/clinic/export?format=csv", headers=ah)
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"] and ".csv" in r.headers["content-disposition"]
    header, rows = _rows(r)
    assert header == HEADER
    by_id = {row["id"]: row for row in rows}
    assert len(rows) == len(by_id) == 3 and set(by_id) == {done, open_, fu}
    d = by_id[done]
    assert d["status"] == "finished" and d["patient_ref"] == "A-001" and d["age"] == "63" and d["sex"] == "male"
    assert d["triage_level"] == fin["triage_level"] and d["top_condition"] == fin["result"]["conditions"][0]["key"]
    assert float(d["top_probability"]) == fin["result"]["conditions"][0]["probability"]
    assert d["kb_version"] == fin["kb_version"] and d["engine_version"] == fin["engine_version"]
    assert d["finished_at"] and d["created_at"] and d["followup_of"] == ""
    assert by_id[open_]["status"] == "in_progress" and by_id[open_]["triage_level"] == ""
    assert by_id[open_]["finished_at"] == "" and by_id[open_]["top_probability"] == ""
    assert by_id[fu]["followup_of"] == done and by_id[fu]["patient_ref"] == "A-001"
    assert "B-001" not in r.text

    r = client.get("/v1/clinic/export?format=json", headers=ah)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert ".json" in r.headers["content-disposition"]
    recs = {x["id"]: x for x in r.json()["assessments"]}
    assert set(recs) == {done, open_, fu}
    # full records: the same as reading each one
    full = client.get(f"/v1/assessments/{done}", headers=ah).json()
    assert recs[done]["result"] == full["result"] == fin["result"]
    assert recs[done]["plan"] == fin["plan"] and recs[done]["state"] == fin["state"]
    assert recs[open_]["result"] is None and recs[open_]["state"]["answers"] == []
    assert recs[fu]["followup_of"] == done

    assert client.get("/v1/clinic/export?format=xml", headers=ah).status_code == 422
    assert client.get("/v1/clinic/export").status_code == 401


def test_csv_guards_against_formula_injection(client, make_clinic):
    clinic = make_clinic(("clinician",))
    h = login(client, clinic["clinician_email"])
    refs = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "plain-ref"]
    ids = {_create(client, h, patient_ref=ref): ref for ref in refs}
    _, rows = _rows(client.get("/v1/clinic/export", headers=h))
    got = {row["id"]: row["patient_ref"] for row in rows}
    assert set(got) == set(ids)
    for aid, ref in ids.items():
        if ref == "plain-ref":
            assert got[aid] == ref
        else:
            assert got[aid] == "'" + ref, (ref, got[aid])
    for row in rows:
        for value in row.values():
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r"), row
    # JSON keeps the reference exactly as it was given
    js = {x["id"]: x["patient_ref"] for x in client.get("/v1/clinic/export?format=json", headers=h).json()["assessments"]}
    assert js == ids
