"""Clinician pages: adding and correcting history answers and examination findings, examinations in order of
relevance, the confirmation of what changed, the clinic's patient reference."""

from __future__ import annotations

import re

from markupsafe import escape

from painpath.engine import default_compiled
from tests.web.conftest import form
from tests.web.test_clinic_pages import BACK, CALF, api_assessment, logged_in, record


def test_a_clinician_corrects_and_adds_history_answers(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    aid = web.browser.finished(regions=["calf_pain"], intake_code=str(clinic["intake_code"]))
    before = record(web, aid)
    given = {a["finding"]: a["value"] for a in before.state["answers"] if a["screen"] != "where"}
    b = logged_in(web, clinic)
    r = b.get(f"/clinic/a/{aid}")
    f = form(r.text, f"/clinic/a/{aid}/answers")
    for key, value in given.items():  # every answer given can be corrected, shown as given
        assert f.checked.get(f"f_{key}") == value, key
    kb = default_compiled().kb
    history = [k for k, fd in kb.findings.findings.items() if fd.kind != "sign"]
    unasked = next(k for k in history if k not in given and f"f_{k}" in f.fields)
    assert f.checked[f"f_{unasked}"] == ""  # "Not asked" by default
    corrected = next(iter(given))
    new = "present" if given[corrected] != "present" else "absent"
    r = b.submit(f.action, {f"f_{corrected}": new, f"f_{unasked}": "present",
                            **{f"f_{k}": v for k, v in given.items() if k != corrected}})  # the rest unchanged
    assert r.status_code == 303 and sorted(r.headers["location"].split("changed=")[1].split("#")[0].split(",")) == \
        sorted([corrected, unasked])
    after = record(web, aid)
    answers = {a["finding"]: a["value"] for a in after.state["answers"]}
    assert answers[corrected] == new and answers[unasked] == "present"
    assert after.mode == "self"  # history only: the mode stays
    assert len(after.history) == 1 and after.history[0]["result"] == before.result  # the earlier result is kept
    # nothing changed: nothing is saved
    r = b.submit(f.action, {f"f_{corrected}": new})
    assert r.headers["location"] == f"/clinic/a/{aid}" and len(record(web, aid).history) == 1
    # bad input names everything that was wrong; location answers belong to the body map
    r = b.submit(f.action, {"f_nope": "present", "f_calf_pain": "absent", f"f_{corrected}": "maybe"})
    assert r.status_code == 400
    for part in ("f_nope", "f_calf_pain", f"f_{corrected}"):
        assert part in r.text
    assert len(record(web, aid).history) == 1


def test_the_exam_form_puts_the_most_useful_examinations_first(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    from painpath.interview.policy import screen_value
    from painpath.storage import assessments as store

    clinic = make_clinic()
    code = str(clinic["intake_code"])
    b = logged_in(web, clinic)
    orders = []
    for answers in (CALF, {"low_back_pain": "present", "posterior_thigh_pain": "present", "pain_below_knee": "present"}):
        aid = api_assessment(web, answers, intake_code=code)["id"]
        html = b.get(f"/clinic/a/{aid}").text
        kb = default_compiled().kb
        titles = re.findall(r'<fieldset class="exam-screen"><legend>([^<]+)</legend>', html)
        exam = [n for n, sc in kb.interview.screens.items() if sc.phase == "exam"]
        by_title = {str(escape(kb.interview.screens[n].title)): n for n in exam}
        shown = [by_title[t] for t in titles if t in by_title]
        assert sorted(shown) == sorted(exam)
        state = store.state_of(record(web, aid)).model_copy(update={"mode": "clinician"})
        values = [screen_value(state, n)[0] for n in shown]
        assert values == sorted(values, reverse=True)  # by expected value for this patient
        orders.append(shown)
    assert orders[0][:3] != orders[1][:3]  # a calf and a back problem are examined differently


def test_the_patient_reference_is_set_and_listed(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    other = make_clinic()
    aid = api_assessment(web, BACK, intake_code=str(clinic["intake_code"]))["id"]
    b = logged_in(web, clinic)
    r = b.get("/clinic")
    assert "No reference" in r.text
    r = b.submit(f"/clinic/a/{aid}/ref", {"patient_ref": "  MRN-0042 "})
    assert r.status_code == 303 and record(web, aid).patient_ref == "MRN-0042"
    r = b.get("/clinic")
    assert re.search(rf'href="/clinic/a/{aid}"><strong>MRN-0042</strong>', r.text)
    assert "MRN-0042" in b.get(f"/clinic/a/{aid}").text
    assert b.submit(f"/clinic/a/{aid}/ref", {"patient_ref": "x" * 65}).status_code == 422
    assert logged_in(web, other).submit(f"/clinic/a/{aid}/ref", {"patient_ref": "mine"}).status_code == 404
    b.submit(f"/clinic/a/{aid}/ref", {"patient_ref": ""})
    assert record(web, aid).patient_ref is None
