"""Message ids (painpath.messages): each renders in English to the sentence the core wrote before message ids
existed, and the English the core's objects carry is their messages rendered."""

from __future__ import annotations

from typing import Any

import pytest

from painpath import assess
from painpath.careplan import OutcomeSnapshot, PsfsActivity, score_startback
from painpath.careplan.loader import load_care_content
from painpath.domain import Level, StopReason
from painpath.engine import default_compiled
from painpath.interview import InterviewState, answer, next_step, start
from painpath.messages import MESSAGES, Message, Template, render, render_all, stop_message
from painpath.services import FollowUpInput, care_plan, conclude, followup_result

CKB = default_compiled()
KB = CKB.kb.conditions.conditions
CARE = load_care_content().conditions
A, B, C = "lumbar_radicular", "deep_vein_thrombosis", "spinal_serious_pathology"  # C's short name has a comma

#: message id -> (representative params, the English sentence the core composed before message ids, written
#: the way the old code wrote it)
CASES: dict[str, tuple[dict[str, Any], str]] = {
    "why.presenting": ({}, "Where the pain is tells us most about where it comes from, so we ask it first."),
    "why.warning": ({}, "We ask about these warning signs as soon as your answers make them possible, because each "
                        "of them needs quick medical care whatever the cause of the pain."),
    "why.check": ({}, "Your answer helps us check the most likely causes."),
    "why.separates": ({"a": A, "b": B},
                      f"Your answers so far fit more than one cause. These are common with {KB[A].short_name} but not "
                      f"with {KB[B].short_name}, so your answer helps tell them apart."),
    "triage.likely_causes": ({"causes": [[C, 0.1649], [A, 0.0551], [B, 0.004]]},
                             f"The likely causes at this level of care: {KB[C].short_name} ({0.1649:.0%}), "
                             f"{KB[A].short_name} ({0.0551:.0%}), {KB[B].short_name} ({0.004:.0%})."),
    "plan.shared.equally_likely": ({"a": A, "b": B}, f"{CARE[A].name} and {CARE[B].name} are about equally likely."),
    "plan.shared.suits_both": ({}, "The exercises and self-care listed here suit both."),
    **{f"plan.shared.other_needs.{lv}": ({"name": B}, f"{CARE[B].name} would need {lv.replace('_', ' ')} care: "
                                                      "watch its warning signs.")
       for lv in ("soon", "urgent", "emergency")},
    "plan.note.level_raised": ({"from_level": "self_care", "to_level": "urgent", "condition": B},
                               f"level raised from self_care to urgent, the lowest level for {B}"),
    "plan.note.level_raised_followup": ({"from_level": "self_care", "to_level": "soon"},
                                        "level raised from self_care to soon, what the follow-up calls for "
                                        "(worse, or not improving)"),
    "plan.note.no_content": ({"keys": ["not_a_condition", "x"]},
                             f"no care content for {['not_a_condition', 'x']}; skipped"),
    "plan.note.startback_not_back": ({}, "STarT Back applies to back-related pain only; not used for this condition"),
    "plan.note.startback_missing": ({}, "STarT Back not completed: score it to tailor the back-pain plan "
                                        "(stratified care)"),
    **{f"followup.pain.{t}": ({"before": 6.0, "after": 3.5}, f"pain {6.0:g} -> {3.5:g} ({t.replace('_', ' ')})")
       for t in ("improving", "no_change", "worse")},
    **{f"followup.psfs.{t}": ({"before": 3.5, "after": 6.25},
                              f"PSFS mean {3.5:.1f} -> {6.25:.1f} ({t.replace('_', ' ')})")
       for t in ("improving", "no_change", "worse")},
    "followup.psfs_activities_differ": ({}, "PSFS activities differ between the two measurements; compare with care"),
    "followup.no_improvement": ({"weeks": 8.0}, f"no improvement after {8.0:g} weeks"),
    **{f"followup.current_acute.{lv}": ({}, f"current assessment is {lv}: follow that plan first")
       for lv in ("urgent", "emergency")},
    # stop reasons had no sentence of their own before, except the terminal interview's emergency line
    "stop.emergency": ({}, "Stop the questions: please get help now."),
    "stop.cap": ({}, "The questions stopped at the most we ask."),
    "stop.confident": ({}, "The questions stopped: more answers would not change the result."),
}


def test_every_message_id_has_a_case() -> None:
    assert set(CASES) == set(MESSAGES)


@pytest.mark.parametrize("mid", sorted(CASES))
def test_english_render_is_the_old_sentence(mid: str) -> None:
    params, english = CASES[mid]
    msg = Message(id=mid, params=params)
    assert render(msg) == english
    # the stored (JSON) form renders the same
    assert render(Message.model_validate_json(msg.model_dump_json())) == english
    assert render(msg.model_dump(mode="json")) == english


def test_render_refuses_unknown_ids_and_missing_params() -> None:
    with pytest.raises(KeyError, match="unknown message id"):
        render(Message(id="no.such.message"))
    with pytest.raises(KeyError, match=r"\['b'\]"):
        render(Message(id="why.separates", params={"a": A}))


def test_unknown_keys_show_as_keys_and_a_broken_translation_falls_back_to_english() -> None:
    assert render(Message(id="why.separates", params={"a": "gone", "b": B})).count("gone") == 1
    broken = {MESSAGES["why.separates"].text: "Sus respuestas: {x}"}  # a placeholder renamed by mistake
    english = render(Message(id="why.separates", params={"a": A, "b": B}))
    assert render(Message(id="why.separates", params={"a": A, "b": B}), lambda t: broken.get(t, t)) == english


def test_levels_and_plan_condition_keys_are_named_only_by_a_reader_s_names() -> None:
    """The care plan's level-raise notes keep ``self_care`` and the condition key in the core's English (the
    REST notes); a front end's ``names`` (the web's: level labels, condition names) names them."""
    note = Message(id="plan.note.level_raised", params={"from_level": "self_care", "to_level": "urgent", "condition": B})
    assert render(note) == f"level raised from self_care to urgent, the lowest level for {B}"
    labels = {"self_care": "Self care", "urgent": "Urgent"}

    def names(kind: str, key: str) -> str | None:
        return labels.get(key) if kind == "level" else CARE[key].name if kind == "condition_key" else None

    assert render(note, names=names) == f"level raised from Self care to Urgent, the lowest level for {CARE[B].name}"
    spanish = {"Self care": "Autocuidado", "Urgent": "Urgente", CARE[B].name: "Nombre"}
    assert render(note, lambda t: spanish.get(t, t), names).endswith("Autocuidado to Urgente, the lowest level for Nombre")
    from painpath.web.i18n import reader_names
    from painpath.web.render import LEVEL_LABEL

    assert render(note, names=reader_names) == (f"level raised from {LEVEL_LABEL['self_care']} to "
                                                f"{LEVEL_LABEL['urgent']}, the lowest level for {CARE[B].name}")
    assert reader_names("level", "not_a_level") is None  # an unknown value is shown as it is
    assert render(Message(id="plan.note.level_raised_followup", params={"from_level": "x", "to_level": "soon"}),
                  names=reader_names).startswith(f"level raised from x to {LEVEL_LABEL['soon']}")


def test_templates_check_their_slots() -> None:
    with pytest.raises(ValueError, match="unknown slot kinds"):
        Template("{a}", {"a": "colour"}, "test")
    with pytest.raises(ValueError, match="has no slot"):
        Template("{a} and {b}", {"a": "raw"}, "test")


def test_stop_messages() -> None:
    for reason in StopReason:
        m = stop_message(reason.value)
        assert m is not None and m.id in MESSAGES
    assert stop_message("") is None
    with pytest.raises(ValueError):
        stop_message("bored")


# --- the core's objects: the English they carry is their messages rendered ---------------------------------

@pytest.mark.parametrize("findings", [{"calf_pain": True}, {"low_back_pain": True, "posterior_thigh_pain": True},
                                      {"calf_pain": True, "calf_swelling_one_leg": True},
                                      {"low_back_pain": True, "saddle_numbness": True}, {}])
def test_triage_reasons(findings: dict[str, bool]) -> None:
    result = assess({"id": "t", "age": 50, "sex": "female", "findings": findings})
    if not findings:  # nothing said: no warning sign, so the likely causes at the level are a reason
        assert "condition" in [r.kind for r in result.triage.reasons]
    for r in result.triage.reasons:
        if r.kind == "condition":
            assert r.message is not None and r.message.id == "triage.likely_causes"
            assert render(r.message) == r.text
            assert all(key in KB for key, _p in r.message.params["causes"])
        else:
            assert r.message is None  # knowledge-base wording: the text is its own msgid


def _plans() -> list[Any]:
    keys = list(CARE)
    plans = [care_plan([(a, 0.4), (b, 0.35)], lv, {}) for a in keys[:12] for b in keys[:12] if a != b
             for lv in ("self_care", "soon")]
    plans.append(care_plan([(B, 0.5), ("not_a_condition", 0.2)], "self_care", {}))
    sb = score_startback({**{f"item{i}": False for i in range(1, 9)}, "item9": 1})
    plans.append(care_plan([("calf_muscle_strain", 0.9)], "self_care", {}, startback=sb))
    plans.append(care_plan([(A, 0.9)], "self_care", {}))
    calf = {"calf_pain": "present", "pain_below_knee": "present", "leg_pain_worse_than_back": "present",
            "onset_sudden_during_activity": "present"}
    worse = FollowUpInput(OutcomeSnapshot(pain=3), OutcomeSnapshot(pain=8), weeks_since_first=2)
    raised = conclude(answer(start(35, "male", "self"), calf, default_compiled()), followup=worse)
    plans.append(raised.plan)  # raised by the follow-up
    return plans


def test_care_plan_notes_and_shared_advice() -> None:
    seen: set[str] = set()
    for plan in _plans():
        assert [render(m) for m in plan.note_messages] == plan.notes
        seen |= {m.id for m in plan.note_messages}
        if plan.shared_advice:
            assert render_all(plan.shared_advice.note_messages) == plan.shared_advice.note
            seen |= {m.id for m in plan.shared_advice.note_messages}
    plan_ids = {k for k in MESSAGES if k.startswith("plan.")}
    assert plan_ids - seen <= {"plan.shared.other_needs.emergency", "plan.shared.other_needs.urgent"}, plan_ids - seen


def _snap(pain: float, *scores: float, names: tuple[str, ...] = ("walking", "stairs")) -> OutcomeSnapshot:
    acts = [PsfsActivity(activity=n, score=s) for n, s in zip(names[:len(scores)], scores, strict=True)]
    return OutcomeSnapshot(pain=pain, psfs=acts)


@pytest.mark.parametrize(("before", "after", "weeks", "level"), [
    (_snap(6, 3, 4), _snap(3, 6, 7), 3, "self_care"),
    (_snap(5, 4), _snap(5, 4.5), 8, "self_care"),
    (_snap(3, 7), _snap(6.5, 4, names=("running",)), 1, "urgent"),
    (_snap(3), _snap(3), 1, "emergency"),
])
def test_follow_up_reasons(before: OutcomeSnapshot, after: OutcomeSnapshot, weeks: float, level: str) -> None:
    result = followup_result(before, after, weeks_since_first=weeks, current_triage_level=level)
    assert result.reason_messages and [render(m) for m in result.reason_messages] == result.reasons


def test_why_a_question_is_asked_and_why_the_interview_stopped() -> None:
    state = InterviewState(age=60, sex="male", mode="self")
    step = next_step(state, CKB)
    for _ in range(40):
        if step.should_stop:
            break
        q = step.question
        assert q is not None and q.why_message is not None and render(q.why_message) == q.why
        state = answer(state, dict.fromkeys(q.findings, "absent"), CKB, screen=q.screen)
        step = next_step(state, CKB)
    assert step.should_stop and step.stop_message is not None
    assert step.stop_message.id == f"stop.{step.stop_reason}"
    assert Level.parse(step.level) is not None
