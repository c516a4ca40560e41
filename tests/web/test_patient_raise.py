"""The person's own result page says which leg and, when the level was raised above the engine's triage level
(the care plan's ``plan.note.level_raised*`` notes), why: in their language, with level labels and condition
names, through the same partial (``_raised.html``) and helper (``web.summary.raise_notes``) as the clinic's
assessment page."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from painpath.careplan import load_care_content
from painpath.storage.models import AssessmentRecord
from tests.web.conftest import form
from tests.web.test_clinic_pages import logged_in, record
from tests.web.test_clinic_raise import _raised

CALF = {"calf_pain": "present", "pain_below_knee": "present", "leg_pain_worse_than_back": "present",
        "onset_sudden_during_activity": "present"}
PATIENT_SENTENCE = "Your answers on their own pointed to a lower level of care. It was raised because:"


def _leg_of(html: str) -> str | None:
    m = re.search(r'<span class="side">([^<]+): <strong>([^<]+)</strong></span>', html)
    return f"{m.group(1)}: {unescape(m.group(2))}" if m else None


def _worse_followup(web: Any) -> str:
    """A person's self-care assessment (pain 3), then their own follow-up with pain 8: the follow-up raises the
    level to soon."""
    b = web.browser
    aid = b.start(age=35, sex="male")
    assert b.where(aid, ["calf_pain"], side="right", pain_now="3").status_code == 303
    assert b.answer_until_done(aid, CALF).url.path.endswith("/result")
    assert record(web, aid).triage_level == "self_care"
    f = form(b.get(f"/a/{aid}/followup").text, f"/a/{aid}/followup")
    r = b.submit(f.action, {**f.hidden, "pain": "8"})
    assert r.status_code == 303, r.text[:500]
    fid = r.headers["location"].rsplit("/", 1)[-1]
    assert b.where(fid, ["calf_pain"], side="right").status_code == 303
    assert b.answer_until_done(fid, CALF).url.path.endswith("/result")
    rec = record(web, fid)
    assert rec.result["triage"]["level"] == "self_care" and rec.triage_level == "soon"
    return fid


def test_a_level_raised_by_the_follow_up_says_so_on_the_person_s_result_page(web: Any) -> None:
    fid = _worse_followup(web)
    html = web.browser.get(f"/a/{fid}/result").text
    assert '<h2>Why the level was raised</h2>' in html and PATIENT_SENTENCE in html
    assert _raised(html) == ["level raised from Look after it yourself to See a clinician soon, what the follow-up "
                             "calls for (worse, or not improving)"]
    assert "What the follow-up found:" not in html  # the page shows the follow-up's findings already
    assert _leg_of(html) == "Leg: Right leg"
    es = web.browser.get(f"/a/{fid}/result?lang=es").text
    assert _raised(es) == ["el seguimiento muestra que está peor o no mejora: «Vea pronto a un profesional de la "
                           "salud» (antes: «Cuídese usted mismo»)"]
    assert "Por qué se subió el nivel" in es and PATIENT_SENTENCE not in es
    assert "Sus respuestas por sí solas indicaban un nivel de atención más bajo. Se subió porque:" in es
    assert _leg_of(es) == "Pierna: Pierna derecha"


def test_the_clinic_page_renders_the_same_notes_with_the_follow_up_s_findings(web: Any, make_clinic: Any) -> None:
    """The same partial on the clinic's page: the same lines, and the follow-up's findings beside them."""
    clinic = make_clinic()
    fid = _worse_followup(web)
    patient_lines = _raised(web.browser.get(f"/a/{fid}/result").text)
    with web.database.write() as s:
        s.get(AssessmentRecord, fid).clinic_id = int(clinic["id"])
    html = logged_in(web, clinic).get(f"/clinic/a/{fid}").text
    assert _raised(html) == patient_lines and "<h3>Why the level was raised</h3>" in html
    assert "What the follow-up found: pain 3 -&gt; 8 (worse)" in html and PATIENT_SENTENCE not in html


def test_a_level_raised_to_the_condition_s_lowest_level_names_the_condition(web: Any) -> None:
    """As in tests/web/test_clinic_raise.py, the stored plan is given the note conclude() writes."""
    aid = web.browser.finished(regions=["calf_pain"])
    care = load_care_content().conditions
    key = next(k for k, c in care.items() if c.name != k)
    note = {"id": "plan.note.level_raised", "params": {"from_level": "self_care", "to_level": "urgent",
                                                       "condition": key}}
    with web.database.write() as s:
        rec = s.get(AssessmentRecord, aid)
        rec.plan = {**rec.plan, "notes": [*rec.plan.get("notes", []), f"level raised from self_care to urgent, the "
                                          f"lowest level for {key}"],
                    "note_messages": [*rec.plan.get("note_messages", []), note]}
    (line,) = _raised(web.browser.get(f"/a/{aid}/result").text)
    assert line == (f"level raised from Look after it yourself to Urgent: get seen today, the lowest level for "
                    f"{care[key].name}")
    with web.database.write() as s:  # a plan stored before message ids: no reasons, the page still works
        rec = s.get(AssessmentRecord, aid)
        rec.plan = {**rec.plan, "note_messages": []}
    r = web.browser.get(f"/a/{aid}/result")
    assert r.status_code == 200 and _raised(r.text) == [] and "Why the level was raised" not in r.text


def test_no_raise_no_reasons_and_the_leg_in_the_person_s_words(web: Any) -> None:
    b = web.browser
    aid = b.start()
    b.where(aid, ["low_back_pain", "posterior_thigh_pain"], side="left")
    html = b.answer_until_done(aid).text
    assert "Why the level was raised" not in html and 'id="raised"' not in html
    assert _leg_of(html) == "Leg: Left leg"
    # not sure which leg: said as the person said it, not as "the patient was not sure"
    aid = b.start()
    b.where(aid, ["low_back_pain", "posterior_thigh_pain"], side="unknown")
    html = b.answer_until_done(aid).text
    assert _leg_of(html) == "Leg: Not sure" and "The patient was not sure" not in html
    assert _leg_of(b.get(f"/a/{aid}/result?lang=es").text) == "Pierna: No estoy seguro"
