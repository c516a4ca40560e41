"""Interview state: immutable, JSON round-trips, answers replace, withdraw by screen."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from painpath.engine import default_compiled
from painpath.errors import CaseError
from painpath.interview import InterviewState, answer, next_step, start, withdraw

CKB = default_compiled()


def test_start_validates() -> None:
    s = start(40, "female")
    assert (s.age, s.sex, s.mode, s.answers, s.screens_asked) == (40, "female", "self", (), ())
    for bad in ((121, "female"), (-1, "male"), (40, "other")):
        with pytest.raises(CaseError):
            start(*bad)
    with pytest.raises(CaseError):
        start(40.5, "male")  # type: ignore[arg-type]
    with pytest.raises(CaseError):
        start(40, "male", mode="vet")


def test_state_is_immutable() -> None:
    s = start(40, "male")
    with pytest.raises(ValidationError):
        s.age = 41  # type: ignore[misc]
    s2 = answer(s, {"calf_pain": "present"}, CKB, screen="where")
    assert s.answers == () and s.screens_asked == ()  # the original is untouched
    assert s2 is not s
    assert s2.answer_map == {"calf_pain": "present"}
    with pytest.raises((ValidationError, TypeError, AttributeError)):
        s2.answers[0].value = "absent"  # type: ignore[misc]


def test_json_round_trip() -> None:
    s = start(67, "female", mode="clinician", setting="clinic")
    s = answer(s, {"calf_pain": "present", "pain_below_knee": "present", "low_back_pain": "absent"}, CKB, screen="where")
    s = answer(s, {"slr_positive": "unknown"}, CKB, screen="exam_neural_tension")
    again = InterviewState.model_validate_json(s.model_dump_json())
    assert again == s
    assert again.answer_map == s.answer_map
    assert np.array_equal(again.evidence(CKB), s.evidence(CKB))


def test_json_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        InterviewState.model_validate_json('{"age": 40, "sex": "male", "hacked": true}')
    with pytest.raises(ValidationError):
        InterviewState.model_validate_json('{"age": 40.5, "sex": "male"}')


def test_changing_an_answer_replaces_it_and_recomputes() -> None:
    s = start(40, "male")
    s = answer(s, {"calf_pain": "present", "pain_below_knee": "present", "low_back_pain": "absent"}, CKB, screen="where")
    s = answer(s, {"fever_unwell": "present", "redness_warmth": "present"}, CKB, screen="warning_infection_clot")
    changed = answer(s, {"fever_unwell": "absent"}, CKB, screen="warning_infection_clot")
    assert [a.finding for a in changed.answers].count("fever_unwell") == 1
    assert changed.answer_map["fever_unwell"] == "absent"
    assert changed.answer_map["redness_warmth"] == "present"
    assert changed.screens_asked == s.screens_asked  # a screen is recorded once
    # everything follows from the state: same as a fresh state given the final answers directly
    fresh = answer(
        answer(start(40, "male"), {"calf_pain": "present", "pain_below_knee": "present", "low_back_pain": "absent"}, CKB,
               screen="where"),
        {"fever_unwell": "absent", "redness_warmth": "present"},
        CKB,
        screen="warning_infection_clot",
    )
    a, b = next_step(changed, CKB), next_step(fresh, CKB)
    assert (a.level, a.top, a.top_probability) == (b.level, b.top, b.top_probability)
    before = next_step(s, CKB)
    assert before.top_probability != a.top_probability or before.top != a.top


def test_evidence_coding() -> None:
    s = answer(start(40, "male", mode="clinician"), {"calf_pain": "present", "smoker": "absent", "diabetes": "unknown",
                                                     "slr_positive": "present"}, CKB)
    ev = s.evidence(CKB)
    f = CKB.fidx
    assert ev[f["calf_pain"]] == 1 and ev[f["smoker"]] == -1 and ev[f["diabetes"]] == 0 and ev[f["slr_positive"]] == 1
    assert ev[f["fever_unwell"]] == 0  # not asked = unknown in an interview (nothing is assumed)
    case = s.as_case()
    assert dict(case.findings) == {"calf_pain": True, "smoker": False, "diabetes": None, "slr_positive": True}


def test_withdraw_by_screen() -> None:
    s = start(40, "male")
    s = answer(s, {"calf_pain": "present", "pain_below_knee": "present", "low_back_pain": "present"}, CKB,
               screen="where")
    s = answer(s, {"bladder_problem_new": "absent", "saddle_numbness": "absent"}, CKB, screen="warning_spinal")
    s = answer(s, {"fever_unwell": "absent"}, CKB, screen="warning_infection_clot")
    w = withdraw(s, screen="warning_spinal")
    assert "bladder_problem_new" not in w.answer_map and "saddle_numbness" not in w.answer_map
    assert w.answer_map == {"calf_pain": "present", "pain_below_knee": "present", "low_back_pain": "present",
                            "fever_unwell": "absent"}
    assert w.screens_asked == ("where", "warning_infection_clot")
    # the withdrawn screen (the first warning screen in interview.yaml, due with back pain) is asked again
    step = next_step(w, CKB)
    assert step.question is not None and step.question.screen == "warning_spinal"


def test_withdraw_by_finding() -> None:
    s = answer(start(40, "male"), {"calf_pain": "present", "smoker": "present"}, CKB, screen="where")
    w = withdraw(s, ["smoker"])
    assert w.answer_map == {"calf_pain": "present"}
    assert w.screens_asked == ("where",)


def test_answer_rejects_unknown_finding_and_values() -> None:
    s = start(40, "male")
    with pytest.raises(CaseError, match="calf_pian"):
        answer(s, {"calf_pian": "present"}, CKB)
    with pytest.raises(CaseError, match="calf_pain"):
        answer(s, {"calf_pain": "yes"}, CKB)  # type: ignore[dict-item]


def test_sign_in_self_mode_is_rejected() -> None:
    with pytest.raises(CaseError, match="slr_positive"):
        answer(start(40, "male"), {"slr_positive": "present"}, CKB)
    # but accepted from a clinician
    s = answer(start(40, "male", mode="clinician"), {"slr_positive": "present"}, CKB)
    assert s.answer_map["slr_positive"] == "present"


def test_self_mode_evidence_hides_signs_even_if_smuggled_in() -> None:
    clin = answer(start(40, "male", mode="clinician"), {"slr_positive": "present"}, CKB)
    smuggled = InterviewState.model_validate({**clin.model_dump(), "mode": "self"})
    assert smuggled.evidence(CKB)[CKB.fidx["slr_positive"]] == 0


def test_withdrawing_a_screens_only_answer_unasks_the_screen() -> None:
    from painpath.engine import default_compiled
    from painpath.interview import answer, next_step, start, withdraw

    ckb = default_compiled()
    s = answer(start(40, "male"), {"low_back_pain": "present"}, ckb, screen="where")
    s = answer(s, {"bladder_problem_new": "absent"}, ckb, screen="warning_spinal")
    s = answer(s, {"bowel_incontinence_new": "absent"}, ckb, screen="warning_spinal")
    one = withdraw(s, ["bowel_incontinence_new"])
    assert "warning_spinal" in one.screens_asked  # one answer of the screen remains
    none = withdraw(one, ["bladder_problem_new"])
    assert "warning_spinal" not in none.screens_asked
    step = next_step(none, ckb)
    assert step.question is not None and step.question.screen == "warning_spinal"
    assert "bladder_problem_new" in step.question.findings


def _crushed_shin_answers() -> dict[str, str]:
    """Six answers a person with a crushed, tense shin might give (the issue's example)."""
    return {
        "shin_pain": "present",
        "pain_below_knee": "present",
        "leg_tense_swollen_after_injury": "present",
        "onset_after_trauma": "present",
        "pain_severe_out_of_proportion": "present",
        "low_back_pain": "absent",
    }


def test_interview_weighs_only_the_answers_given() -> None:
    """Unasked means unknown: the assessment of an interview never cites or shows a finding it did not ask."""
    from painpath.assessment import assess
    from painpath.cases import Case, encode

    answers = _crushed_shin_answers()
    s = answer(start(35, "male"), answers, CKB, screen="where")  # type: ignore[arg-type]
    case = s.as_case()
    ev = encode(case, CKB, "self")
    asked = {CKB.fidx[k] for k in answers}
    assert all(ev[i] == 0 for i in range(len(ev)) if i not in asked)  # nothing unasked is "no"
    assert np.array_equal(ev, s.evidence(CKB))  # the same evidence the interview itself reasons with
    result = assess(case, mode="self", explain_conditions=None)
    cited = {e.finding for c in result.conditions for e in (*c.supporting, *c.opposing)}
    assert cited and cited <= set(answers)
    assert not any(e.answer == "absent" and e.finding != "low_back_pain"
                   for c in result.conditions for e in (*c.supporting, *c.opposing))
    # the same findings read as a case *file* follow the benchmark rule: unlisted symptoms are "no"
    as_file = Case(id="file", age=35, sex="male", findings=dict(case.findings))
    file_ev = encode(as_file, CKB, "self")
    assert (file_ev == -1).sum() > 1
    file_cited = {e.finding for c in assess(as_file, mode="self", explain_conditions=None).conditions
                  for e in (*c.supporting, *c.opposing)}
    assert file_cited - set(answers)  # which is exactly what an interview must not do


def test_interview_subset_of_a_case_cites_only_what_it_asked(dev_dir) -> None:
    """Each dev case answered in part (every other finding it lists): the result weighs, cites and
    shows only the answers given, never a finding the interview did not ask."""
    from painpath.assessment import assess
    from painpath.cases import encode, load_cases

    for case in load_cases(dev_dir, CKB):
        keys = [k for k in case.findings if not CKB.is_sign[CKB.fidx[k]]][::2]
        values = {k: ("unknown" if case.findings[k] is None else "present" if case.findings[k] else "absent") for k in keys}
        s = answer(start(case.age, case.sex), values, CKB)  # type: ignore[arg-type]
        ev = encode(s.as_case(), CKB, "self")
        assert set(np.flatnonzero(ev)) <= {CKB.fidx[k] for k in keys}, case.id
        result = assess(s.as_case(), mode="self", explain_conditions=None)
        cited = {e.finding for c in result.conditions for e in (*c.supporting, *c.opposing)}
        assert cited <= set(keys), (case.id, sorted(cited - set(keys)))


def test_answer_names_every_problem_at_once() -> None:
    with pytest.raises(CaseError) as err:
        answer(start(40, "male"), {"calf_pian": "present", "calf_pain": "yes", "slr_positive": "present"}, CKB)  # type: ignore[dict-item]
    for part in ("answers.calf_pian", "answers.calf_pain", "answers.slr_positive"):
        assert part in str(err.value)


def test_a_body_map_with_no_pain_anywhere_is_found() -> None:
    from painpath.interview.state import no_pain_anywhere

    where = CKB.kb.interview.screens["where"].findings
    none = answer(start(40, "male"), dict.fromkeys(where, "absent"), CKB, screen="where")
    assert "no pain anywhere" in " ".join(no_pain_anywhere(none, CKB))
    # one place that hurts is enough, and places left unknown are not read as "no"
    ok = answer(start(40, "male"), {**dict.fromkeys(where, "absent"), "heel_pain": "present"}, CKB, screen="where")
    assert no_pain_anywhere(ok, CKB) == []
    partial = answer(start(40, "male"), {k: "absent" for k in where if k != "calf_pain"}, CKB, screen="where")
    assert "calf_pain" not in partial.answer_map and no_pain_anywhere(partial, CKB) == []


# --- which leg (side) ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("side", "both_legs"), [("left", "absent"), ("right", "absent"), ("both", "present")])
def test_a_side_answers_both_legs_and_round_trips(side: str, both_legs: str) -> None:
    s = answer(start(50, "female"), {"low_back_pain": "present"}, CKB, screen="where", side=side)
    assert s.side == side and s.answer_map["pain_both_legs"] == both_legs
    assert next(a.screen for a in s.answers if a.finding == "pain_both_legs") == "where"
    again = InterviewState.model_validate_json(s.model_dump_json())
    assert again == s and again.side == side
    # the engine sees only the finding: the evidence is that of the answer without a side
    plain = answer(start(50, "female"), {"low_back_pain": "present", "pain_both_legs": both_legs}, CKB, screen="where")
    assert np.array_equal(s.evidence(CKB), plain.evidence(CKB)) and s.as_case() == plain.as_case()


def test_a_state_stored_without_a_side_loads() -> None:
    s = answer(start(50, "male"), {"calf_pain": "present", "pain_both_legs": "absent"}, CKB, screen="where")
    old = s.model_dump(mode="json")
    del old["side"]
    loaded = InterviewState.model_validate(old)
    assert loaded.side is None and loaded.answer_map == s.answer_map


def test_the_side_follows_its_answer() -> None:
    s = answer(start(50, "male"), {"calf_pain": "present"}, CKB, screen="where", side="left")
    assert answer(s, {"calf_pain": "present"}, CKB, screen="where").side == "left"  # other answers keep it
    assert answer(s, {"pain_both_legs": "absent"}, CKB).side == "left"  # one leg still: left
    assert answer(s, {"pain_both_legs": "present"}, CKB).side == "both"
    assert answer(s, {"pain_both_legs": "unknown"}, CKB).side is None
    assert answer(answer(s, {"pain_both_legs": "present"}, CKB), {"pain_both_legs": "absent"}, CKB).side is None
    moved = answer(s, {}, CKB, side="right")
    assert moved.side == "right" and moved.answers == s.answers  # the answer given stays as it is
    assert withdraw(s, ["pain_both_legs"]).side is None
    assert withdraw(s, screen="where").side is None
    assert withdraw(s, ["calf_pain"]).side == "left"


def test_a_bad_or_contradicting_side_is_refused() -> None:
    s = start(50, "male")
    with pytest.raises(CaseError, match="side: must be left, right or both"):
        answer(s, {"calf_pain": "present"}, CKB, side="middle")
    with pytest.raises(CaseError, match="side: 'left' does not fit answers.pain_both_legs='present'"):
        answer(s, {"calf_pain": "present", "pain_both_legs": "present"}, CKB, side="left")
    with pytest.raises(CaseError) as e:  # every problem at once
        answer(s, {"bogus": "present"}, CKB, side="middle")
    assert "side:" in str(e.value) and "answers.bogus" in str(e.value)
    both = answer(s, {"calf_pain": "present"}, CKB, side="both").model_dump()
    with pytest.raises(ValidationError, match="side: 'left' does not fit the answer pain_both_legs=present"):
        InterviewState.model_validate({**both, "side": "left"})
