"""The clinic's assessment page says why the level was raised above the engine's triage level (the care plan's
``plan.note.level_raised*`` notes), in the reader's language, with level labels and condition names, not keys."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from painpath.careplan import load_care_content
from painpath.storage import accounts
from painpath.storage.models import AssessmentRecord
from tests.web.test_clinic_pages import logged_in

CALF = {"calf_pain": "present", "pain_below_knee": "present", "leg_pain_worse_than_back": "present",
        "onset_sudden_during_activity": "present"}


def _raised(html: str) -> list[str]:
    m = re.search(r'<div class="callout raised" id="raised">(.*?)</div>', html, re.S)
    if not m:
        return []
    return [unescape(re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", m.group(1), re.S)]


def _worse_followup(web: Any, clinic: dict[str, Any]) -> str:
    """A self-care assessment whose follow-up is worse: the follow-up raises the level to soon."""
    with web.database.write() as s:
        _, raw = accounts.issue_token(s, int(clinic["id"]), kind="api", name="ehr")
    key = {"Authorization": f"Bearer {raw}"}
    c = web.browser.client
    root = c.post("/v1/assessments", json={"age": 35, "sex": "male"}, headers=key).json()["assessment"]["id"]
    c.put(f"/v1/assessments/{root}/answers", json={"answers": CALF}, headers=key)
    c.put(f"/v1/assessments/{root}/outcome", json={"pain": 3}, headers=key)
    assert c.post(f"/v1/assessments/{root}/finish", headers=key).json()["triage_level"] == "self_care"
    fid = c.post(f"/v1/assessments/{root}/followups", headers=key).json()["assessment"]["id"]
    c.put(f"/v1/assessments/{fid}/answers", json={"answers": CALF}, headers=key)
    c.put(f"/v1/assessments/{fid}/outcome", json={"pain": 8}, headers=key)
    fin = c.post(f"/v1/assessments/{fid}/finish", headers=key).json()
    assert fin["result"]["triage"]["level"] == "self_care" and fin["triage_level"] == "soon"
    return str(fid)


def test_a_level_raised_by_the_follow_up_says_so_in_english_and_spanish(web: Any, make_clinic: Any) -> None:
    clinic = make_clinic()
    fid = _worse_followup(web, clinic)
    b = logged_in(web, clinic)
    html = b.get(f"/clinic/a/{fid}").text
    assert "Why the level was raised" in html
    assert _raised(html) == ["level raised from Look after it yourself to See a clinician soon, what the follow-up "
                             "calls for (worse, or not improving)"]
    assert "What the follow-up found: pain 3 -&gt; 8 (worse)" in html
    es = b.get(f"/clinic/a/{fid}?lang=es").text
    assert _raised(es) == ["el seguimiento muestra que está peor o no mejora: «Vea pronto a un profesional de la "
                           "salud» (antes: «Cuídese usted mismo»)"]  # the level labels in Spanish
    assert "Por qué se subió el nivel" in es and "Lo que encontró el seguimiento:" in es


def test_a_level_raised_to_the_condition_s_lowest_level_names_the_condition(web: Any, make_clinic: Any) -> None:
    """The engine rarely gives a triage below its leading condition's lowest level: the stored plan is given
    the note here, as conclude() writes it (tests/services/test_levels.py builds one from a real assessment)."""
    clinic = make_clinic()
    aid = web.browser.finished(regions=["calf_pain"], intake_code=str(clinic["intake_code"]))
    care = load_care_content().conditions
    key = next(k for k, c in care.items() if c.name != k)
    note = {"id": "plan.note.level_raised", "params": {"from_level": "self_care", "to_level": "urgent",
                                                       "condition": key}}
    english = f"level raised from self_care to urgent, the lowest level for {key}"
    with web.database.write() as s:
        rec = s.get(AssessmentRecord, aid)
        rec.plan = {**rec.plan, "notes": [*rec.plan.get("notes", []), english],
                    "note_messages": [*rec.plan.get("note_messages", []), note]}
    b = logged_in(web, clinic)
    (line,) = _raised(b.get(f"/clinic/a/{aid}").text)
    assert line == (f"level raised from Look after it yourself to Urgent: get seen today, the lowest level for "
                    f"{care[key].name}")
    assert key not in line
    # a plan stored before message ids (English notes only) shows no raise reasons, and the page still works
    with web.database.write() as s:
        rec = s.get(AssessmentRecord, aid)
        rec.plan = {**rec.plan, "note_messages": []}
    r = b.get(f"/clinic/a/{aid}")
    assert r.status_code == 200 and _raised(r.text) == [] and "Why the level was raised" not in r.text


def test_no_raise_no_reasons(web: Any, make_clinic: Any) -> None:
    clinic = make_clinic()
    aid = web.browser.finished(regions=["low_back_pain"], intake_code=str(clinic["intake_code"]))
    html = logged_in(web, clinic).get(f"/clinic/a/{aid}").text
    assert "Why the level was raised" not in html
