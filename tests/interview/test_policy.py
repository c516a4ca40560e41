"""Question order, stopping and the simulated person (benchmark README, "Interview simulation")."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from painpath.cases import Case, load_cases, parse_case
from painpath.engine import default_compiled
from painpath.engine.compiled import LEVEL_RANK
from painpath.interview import answer, next_step, start
from painpath.interview.policy import screen_value
from painpath.interview.simulate import simulate

CKB = default_compiled()
IV = CKB.kb.interview
PHASE = {name: s.phase for name, s in IV.screens.items()}
WARNING = [n for n, s in IV.screens.items() if s.phase == "warning"]
LOCATION = [k for k, f in CKB.kb.findings.findings.items() if f.group == "location"]
CALF = {k: "absent" for k in LOCATION} | {"calf_pain": "present", "pain_below_knee": "present",
                                          "leg_pain_worse_than_back": "present"}


def located(**kw: Any):  # type: ignore[no-untyped-def]
    return answer(start(45, "male", **kw), CALF, CKB, screen="where")


def due_items(answers: dict[str, str]) -> list[str]:
    """Warning items the data (screen ``when_any`` and item ``relevance``) makes due for these answers."""

    def said(keys: list[str]) -> bool:
        return any(answers.get(k) == "present" for k in keys)

    out = []
    for n in WARNING:
        sc = IV.screens[n]
        if sc.when_any and not said(sc.when_any):
            continue
        for k in sc.findings:
            rule = IV.relevance.get(k)
            if rule is None or (said(rule.when_any) and (not rule.with_any or said(rule.with_any))):
                out.append(k)
    return out


def applicable_warnings(answers: dict[str, str]) -> list[str]:
    """Warning screens with at least one due item, in file order."""
    due = set(due_items(answers))
    return [n for n in WARNING if due & set(IV.screens[n].findings)]


def shows(state) -> int:  # type: ignore[no-untyped-def]
    """Screens shown after the body map (a screen shown again later with new items counts again)."""
    n, last = 0, None
    for a in state.answers:
        if a.screen != last and a.screen != "where":
            n += 1
        last = a.screen
    return n


def check_order(case: Case, mode: str) -> None:
    sim = simulate(case, mode)  # type: ignore[arg-type]
    asked = list(sim.state.screens_asked)
    phases = [PHASE[s] for s in asked]
    assert phases[0] == "presenting", asked
    assert phases.count("presenting") == 1
    # the warning items due from the body map come right after it, before any history or exam screen
    where = {a.finding: a.value for a in sim.state.answers if a.screen == "where"}
    first = set(due_items(where))
    n_warn = 0
    while 1 + n_warn < len(phases) and phases[1 + n_warn] == "warning":
        n_warn += 1
    asked_first = {a.finding for a in sim.state.answers if a.screen in asked[1 : 1 + n_warn]}
    if sim.stop_reason != "emergency":
        assert first <= asked_first, (case.id, first - asked_first)
    # exam screens only from a clinician (history and exam screens may interleave: after an
    # examination finding a history screen can become worth asking again)
    if mode == "self":
        assert "exam" not in phases
    # it never stops before every warning item its answers make due was asked, unless for an emergency
    if sim.stop_reason != "emergency":
        due = {k for k in due_items(sim.state.answer_map) if not (mode == "self" and CKB.is_sign[CKB.fidx[k]])}
        missing = due - set(sim.state.answer_map)
        assert not missing, (case.id, missing)
    else:
        assert sim.level == "emergency"
    # counting: every screen shown but the presenting one is a question
    assert sim.questions == shows(sim.state)
    cap = IV.caps.self_ if mode == "self" else IV.caps.clinician
    assert len(asked) - 1 <= cap
    assert sim.stop_reason in ("emergency", "confident", "cap")


# --- the opening ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["self", "clinician"])
def test_first_question_is_the_presenting_screen(mode: str) -> None:
    step = next_step(start(30, "female", mode=mode))
    assert not step.should_stop
    assert step.question is not None
    assert step.question.phase == "presenting"
    assert set(step.question.findings) == set(LOCATION)
    assert step.questions_asked == 0


def test_warning_screens_follow_in_file_order() -> None:
    s = located()
    seen = []
    for _ in range(len(WARNING)):
        step = next_step(s)
        assert step.question is not None
        if step.question.phase != "warning":
            break
        seen.append(step.question.screen)
        s = answer(s, {k: "absent" for k in step.question.findings}, CKB, screen=step.question.screen)
    # with calf pain only and every warning answer "no", exactly the warning screens with an item that
    # is asked of everyone or opened by calf pain, in file order; calf pain alone does not open the
    # bladder and saddle screen (no back, buttock or nerve symptom)
    assert seen == applicable_warnings(CALF)
    assert "warning_limb" in seen and "warning_spinal" not in seen
    step = next_step(s)
    assert step.question is not None and step.question.phase == "history"
    assert step.questions_asked == len(seen)


def test_conditional_warning_screens() -> None:
    # back pain opens the back red-flag screen; a swollen calf opens the clot-risk screen
    s = answer(start(45, "male"), {**CALF, "low_back_pain": "present"}, CKB, screen="where")
    asked = []
    for _ in range(10):
        step = next_step(s)
        if step.should_stop or step.question is None or step.question.phase != "warning":
            break
        asked.append(step.question.screen)
        vals = {k: ("present" if k == "calf_swelling_one_leg" else "absent") for k in step.question.findings}
        s = answer(s, vals, CKB, screen=step.question.screen)
    assert "warning_back_serious" in asked
    assert "clot_risk" in asked


@pytest.mark.parametrize(
    "emergency",
    ["leg_cold_pale", "leg_tense_swollen_after_injury", "chest_pain_breathless", "weakness_getting_worse"],
)
def test_emergency_answer_stops_at_once(emergency: str) -> None:
    s = located()
    step = next_step(s)
    assert step.question is not None and step.question.screen == applicable_warnings(CALF)[0]
    # answered out of order, before the other warning screens: still stops at once
    s = answer(s, {emergency: "present"}, CKB, screen="warning_limb")
    step = next_step(s)
    assert step.should_stop
    assert step.stop_reason == "emergency"
    assert step.question is None
    assert step.level == "emergency"


def test_ces_answer_stops() -> None:
    s = answer(located(), {"saddle_numbness": "present"}, CKB, screen="warning_spinal")
    step = next_step(s)
    assert step.should_stop and step.stop_reason == "emergency"


@pytest.mark.parametrize(
    "answers",
    [
        {"joint_swelling": "present", "fever_unwell": "present"},
        {"fever_unwell": "present", "unable_to_bear_weight": "present"},
    ],
)
def test_v2_emergency_floors_stop_at_once(answers: dict[str, str]) -> None:
    knee = {k: "absent" for k in LOCATION} | {"knee_joint_pain": "present", "leg_pain_worse_than_back": "present"}
    s = answer(start(60, "female"), knee, CKB, screen="where")
    s = answer(s, answers, CKB)
    step = next_step(s)
    assert step.should_stop and step.stop_reason == "emergency" and step.level == "emergency"


def test_injury_without_weight_bearing_is_urgent_without_stopping() -> None:
    ankle = {k: "absent" for k in LOCATION} | {"ankle_pain": "present", "pain_below_knee": "present",
                                               "leg_pain_worse_than_back": "present"}
    s = answer(start(30, "male"), ankle, CKB, screen="where")
    s = answer(s, {"onset_after_trauma": "present", "unable_to_bear_weight": "present"}, CKB,
               screen="warning_infection_clot")
    step = next_step(s)
    assert not step.should_stop
    assert step.level in ("urgent", "emergency")


def test_probable_emergency_condition_keeps_asking() -> None:
    # An 84-year-old with groin and outer hip pain: a broken hip is likely enough to make the level
    # an emergency before anything else is asked, but no warning answer has fired. The interview
    # goes on to the warning screens (the fall question among them) instead of stopping.
    hip = {k: "absent" for k in LOCATION} | {"groin_pain": "present", "outer_hip_pain": "present",
                                             "leg_pain_worse_than_back": "present"}
    s = answer(start(84, "female"), hip, CKB, screen="where")
    step = next_step(s)
    assert not step.should_stop
    assert step.question is not None and step.question.phase == "warning"
    asked = []
    for _ in range(10):
        step = next_step(s)
        if step.should_stop or step.question is None or step.question.phase != "warning":
            break
        asked.append(step.question.screen)
        s = answer(s, {k: "absent" for k in step.question.findings}, CKB, screen=step.question.screen)
    assert "onset_after_trauma" in s.answer_map  # the fall question was asked
    # no fall and walking normally: a broken hip is no longer the leading cause
    assert next_step(s).top != "hip_fracture"


@pytest.mark.parametrize(
    ("regions", "ces_asked"),
    [
        ({"low_back_pain"}, True),
        ({"buttock_pain"}, True),
        ({"posterior_thigh_pain"}, True),
        ({"knee_joint_pain", "pain_both_legs"}, False),
        ({"knee_joint_pain"}, False),
        ({"calf_pain", "pain_below_knee"}, False),
        ({"heel_pain", "foot_pain", "pain_below_knee"}, False),
        ({"calf_pain", "pain_below_knee", "leg_weakness"}, True),
        ({"calf_pain", "pain_below_knee", "numbness_leg_or_foot"}, True),
        ({"shin_pain", "pain_below_knee", "pain_shooting_electric"}, True),
        ({"knee_front_pain"}, False),
        ({"outer_hip_pain", "outer_thigh_pain"}, False),
        ({"groin_pain"}, False),
    ],
)
def test_bladder_and_saddle_screen_follows_back_or_nerve_symptoms(regions: set[str], ces_asked: bool) -> None:
    where = {k: ("present" if k in regions else "absent") for k in LOCATION}
    s = answer(start(50, "male"), where, CKB, screen="where")
    extra = {k: "present" for k in regions if k not in LOCATION}  # a history answer given earlier
    if extra:
        s = answer(s, extra, CKB, screen="strength" if "leg_weakness" in extra else None)
    asked: set[str] = set()
    for _ in range(12):
        step = next_step(s)
        if step.should_stop or step.question is None or step.question.phase != "warning":
            break
        asked |= set(step.question.findings)
        s = answer(s, {k: "absent" for k in step.question.findings}, CKB, screen=step.question.screen)
    assert ("bladder_problem_new" in asked) is ces_asked
    assert ("saddle_numbness" in asked) is ces_asked
    assert ("warning_spinal" in applicable_warnings(where | extra)) is ces_asked


def test_urgent_floor_does_not_stop_early() -> None:
    s = answer(located(), {"fever_unwell": "present"}, CKB, screen="warning_infection_clot")
    step = next_step(s)
    assert not step.should_stop
    assert step.level == "urgent"


def test_self_mode_never_asks_signs() -> None:
    s = located()
    for _ in range(40):
        step = next_step(s)
        if step.should_stop:
            break
        q = step.question
        assert q is not None
        assert q.phase != "exam"
        assert not any(CKB.is_sign[CKB.fidx[k]] for k in q.findings)
        s = answer(s, {k: "unknown" for k in q.findings}, CKB, screen=q.screen)
    assert step.should_stop


def test_clinician_questions_use_clinician_wording() -> None:
    s = located(mode="clinician")
    for _ in range(60):
        step = next_step(s)
        if step.should_stop:
            break
        q = step.question
        assert q is not None
        for item in q.items:
            f = CKB.kb.findings.findings[item.finding]
            assert item.text == (f.clinician_question or f.question)
        s = answer(s, {k: "unknown" for k in q.findings}, CKB, screen=q.screen)


def test_question_value_and_why() -> None:
    s = located()
    while True:
        step = next_step(s)
        assert step.question is not None
        if step.question.phase == "history":
            break
        s = answer(s, {k: "absent" for k in step.question.findings}, CKB, screen=step.question.screen)
    q = step.question
    assert q.why
    v, pc, ig = screen_value(s, q.screen)
    assert v == pytest.approx(q.value, rel=1e-9)  # the same value, computed in a different batch
    assert 0.0 <= pc <= 1.0 and ig >= -1e-9
    assert screen_value(s, "where") == (0.0, 0.0, 0.0)  # nothing left to ask there


# --- the simulated person --------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_cases(request: pytest.FixtureRequest) -> list[Case]:
    from tests.conftest import DEV, SKIP_NO_BENCH

    if not DEV.is_dir():
        pytest.skip(SKIP_NO_BENCH)
    return load_cases(DEV, CKB, require_gold=True)


@pytest.fixture(scope="module")
def dev_v2_cases(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    """The benchmark v2 development cases whose gold is one of the 36 conditions."""
    import shutil

    from tests.conftest import SKIP_NO_BENCH_V2, dev_v2_case_files

    files = dev_v2_case_files(in_scope_only=True)
    if not files:
        pytest.skip(SKIP_NO_BENCH_V2)
    tmp = tmp_path_factory.mktemp("dev_v2")
    for f in files:
        shutil.copy(f, tmp / f.name)
    return load_cases(tmp, CKB, require_gold=True)


@pytest.mark.parametrize("mode", ["self", "clinician"])
def test_order_and_stopping_on_dev_cases(dev_cases: list[Case], mode: str) -> None:
    for c in dev_cases:
        check_order(c, mode)


@pytest.mark.parametrize("mode", ["self", "clinician"])
def test_order_and_stopping_on_v2_dev_cases(dev_v2_cases: list[Case], mode: str) -> None:
    for c in dev_v2_cases:
        check_order(c, mode)


def test_v2_emergencies_found_by_the_interview(dev_v2_cases: list[Case]) -> None:
    # every v2 development case whose gold level is an emergency ends the self-mode interview at emergency
    for c in dev_v2_cases:
        if c.gold is not None and c.gold.triage == "emergency":
            assert simulate(c, "self").level == "emergency", c.id


def test_question_choice_is_deterministic(dev_cases: list[Case]) -> None:
    for c in dev_cases[::5]:
        for mode in ("self", "clinician"):
            a = simulate(c, mode)  # type: ignore[arg-type]
            b = simulate(c, mode)  # type: ignore[arg-type]
            assert a.state == b.state
            assert (a.questions, a.stop_reason, a.level) == (b.questions, b.stop_reason, b.level)


def test_simulated_person_answers_by_the_rules() -> None:
    case = parse_case(
        {
            "id": "sim",
            "age": 30,
            "sex": "male",
            "findings": {"calf_pain": True, "pain_below_knee": True, "leg_pain_worse_than_back": True, "smoker": None,
                         "calf_muscle_focal_tenderness": True, "pain_resisted_plantarflexion": True,
                         "onset_sudden_during_activity": True, "pain_on_stretching_muscle": True},
        },
        CKB,
    )
    self_sim = simulate(case, "self")
    amap = self_sim.state.answer_map
    # signs: never answered from the case in self mode
    assert all(v == "unknown" for k, v in amap.items() if CKB.is_sign[CKB.fidx[k]])
    assert not any(CKB.is_sign[CKB.fidx[k]] for k in amap)
    # stated findings as stated, unlisted symptoms absent, null unknown
    assert amap["calf_pain"] == "present"
    for k, v in amap.items():
        if CKB.is_sign[CKB.fidx[k]]:
            continue
        stated = case.findings.get(k, False)
        assert v == {True: "present", False: "absent", None: "unknown"}[stated], k
    clin = simulate(case, "clinician")
    cmap = clin.state.answer_map
    for k, v in cmap.items():
        if CKB.is_sign[CKB.fidx[k]]:
            stated = case.findings.get(k)  # unlisted sign = not examined = unknown
            assert v == {True: "present", False: "absent", None: "unknown"}[stated], k


def test_location_given_up_front() -> None:
    case = parse_case({"age": 30, "sex": "female", "findings": {"shin_pain": True, "pain_below_knee": True}}, CKB)
    sim = simulate(case, "self")
    where = [a for a in sim.state.answers if a.screen == "where"]
    assert {a.finding for a in where} == set(LOCATION)
    assert sim.state.answer_map["shin_pain"] == "present"
    assert sim.state.answer_map["low_back_pain"] == "absent"


LOC_ANSWER = st.sampled_from([True, False, None])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(sorted(k for k in CKB.findings if not CKB.is_sign[CKB.fidx[k]])), LOC_ANSWER, max_size=25),
    st.integers(0, 120),
    st.sampled_from(["female", "male"]),
    st.sampled_from(["self", "clinician"]),
)
def test_order_and_stopping_on_random_cases(findings: dict[str, bool | None], age: int, sex: str, mode: str) -> None:
    case = parse_case({"age": age, "sex": sex, "findings": findings}, CKB)
    check_order(case, mode)


def test_simulation_ids_are_counted(dev_cases: list[Case]) -> None:
    from painpath.interview.simulate import score_interviews

    few = dev_cases[:4]
    out = score_interviews(few, "self")
    assert out["n"] == 4
    assert set(out["questions"]) == {c.id for c in few}
    assert out["questions_max"] == max(out["questions"].values())
    assert sum(out["stop_reasons"].values()) == 4


# --- warning items asked where relevant: the floors still fire -----------------------------------


def _floors_kept(cases: list[Case], mode: str) -> None:
    from painpath.cases import encode
    from painpath.engine.triage import floor_matrix

    floors = CKB.kb.triage.floors
    for c in cases:
        full = floor_matrix(CKB, encode(c, CKB, mode)[None, :] > 0)[0]  # type: ignore[arg-type]
        sim = simulate(c, mode)  # type: ignore[arg-type]
        got = floor_matrix(CKB, sim.state.evidence(CKB)[None, :] > 0)[0]
        lost = [floors[j] for j in range(len(floors)) if full[j] and not got[j]]
        if sim.stop_reason == "emergency":  # stopped at once on an emergency answer: the rest need not be asked
            assert sim.level == "emergency", c.id
        else:
            # a floor may go unasked only where the interview already ended above its level (an emergency
            # reached from the answers makes an urgent examination floor moot); never one that would raise it
            raising = [fl.id for fl in lost if LEVEL_RANK[fl.level] >= LEVEL_RANK[sim.level]]
            assert not raising, (c.id, mode, sim.level, raising)


@pytest.mark.parametrize("mode", ["self", "clinician"])
def test_every_floor_of_a_case_fires_in_its_interview(dev_cases: list[Case], dev_v2_cases: list[Case],
                                                      mode: str) -> None:
    _floors_kept(dev_cases, mode)
    _floors_kept(dev_v2_cases, mode)


def test_relevance_rules_name_warning_items_with_reasons() -> None:
    warning_items = {k for n in WARNING for k in IV.screens[n].findings}
    assert IV.relevance, "interview.yaml: relevance rules expected"
    for key, rule in IV.relevance.items():
        assert key in warning_items, key
        assert len(rule.reason) > 40, key
    # asked of everyone: infection and injury questions (any region can be infected or injured)
    for key in ("fever_unwell", "redness_warmth", "onset_after_trauma", "weakness_getting_worse"):
        assert key in warning_items and key not in IV.relevance


def test_item_outside_its_rule_is_not_asked_first_but_follows_a_trigger() -> None:
    knee = {k: "absent" for k in LOCATION} | {"knee_front_pain": "present", "leg_pain_worse_than_back": "present"}
    s = answer(start(30, "female"), knee, CKB, screen="where")
    first = next_step(s)
    assert first.question is not None and first.question.phase == "warning"
    assert "leg_cold_pale" not in first.question.findings and "bladder_problem_new" not in first.question.findings
    s = answer(s, {k: "absent" for k in first.question.findings}, CKB, screen=first.question.screen)
    # a later answer of numbness makes the nerve warning items due: they are asked next
    s = answer(s, {"numbness_leg_or_foot": "present"}, CKB, screen="sensation")
    asked: set[str] = set()
    for _ in range(8):
        step = next_step(s)
        if step.should_stop or step.question is None or step.question.phase != "warning":
            break
        asked |= set(step.question.findings)
        s = answer(s, {k: "absent" for k in step.question.findings}, CKB, screen=step.question.screen)
    assert {"bladder_problem_new", "saddle_numbness", "leg_cold_pale"} <= asked


def test_a_cramp_makes_severe_pain_due() -> None:
    """A sudden blocked artery in the calf is often called a cramp that will not go: once a cramp is said, how
    severe the pain is (an urgent floor, and with the rest the sign of ischaemia) is asked next."""
    calf = {k: "absent" for k in LOCATION} | {"calf_pain": "present", "pain_below_knee": "present",
                                              "leg_pain_worse_than_back": "present"}
    s = answer(start(68, "male"), calf, CKB, screen="where")
    for _ in range(6):  # the warnings due at once, all answered no or don't know
        step = next_step(s)
        if step.question is None or step.question.phase != "warning":
            break
        assert "pain_severe_out_of_proportion" not in step.question.findings  # no trigger yet
        s = answer(s, {k: "absent" for k in step.question.findings}, CKB, screen=step.question.screen)
    s = answer(s, {"night_cramps": "present"}, CKB, screen="cramps")
    step = next_step(s)
    assert step.question is not None and "pain_severe_out_of_proportion" in step.question.findings, step.question


def test_warning_screen_shows_only_its_due_items() -> None:
    step = next_step(located())
    assert step.question is not None and step.question.screen == "warning_limb"
    # calf pain: a cold leg and chest pain (a clot) are due, and worsening weakness (asked of everyone)
    assert step.question.findings == ["leg_cold_pale", "weakness_getting_worse", "chest_pain_breathless"]
    knee = {k: "absent" for k in LOCATION} | {"knee_front_pain": "present", "leg_pain_worse_than_back": "present"}
    step = next_step(answer(start(30, "female"), knee, CKB, screen="where"))
    assert step.question is not None and step.question.findings == ["weakness_getting_worse"]


def test_unexamined_ankle_after_a_fall_is_urgent_in_a_self_interview(dev_v2_cases: list[Case]) -> None:
    by_id = {c.id: c for c in dev_v2_cases}
    if "dev-056" not in by_id:
        pytest.skip("dev-056 not in this benchmark copy")
    assert simulate(by_id["dev-056"], "self").level == "urgent"


# --- a swollen calf: the questions that decide its urgent rules are asked -------------------------


SWOLLEN_CALF = {"knee_back_pain": True, "calf_pain": True, "pain_below_knee": True, "leg_pain_worse_than_back": True,
                "calf_swelling_one_leg": True, "onset_sudden_during_activity": True}


@pytest.mark.parametrize("mode", ["self", "clinician"])
@pytest.mark.parametrize("age", [35, 59, 75])
def test_swollen_calf_asks_the_bakers_cyst_items(mode: str, age: int) -> None:
    """With a swollen calf the level turns on a clot (risk factors: the floor) or a ruptured Baker's cyst
    (the escalation): the cyst's two pointers are asked like the risk factors, before the interview may
    stop, whatever the ranking at that point (a sudden onset during activity makes a calf strain lead)."""
    case = parse_case({"age": age, "sex": "female", "findings": SWOLLEN_CALF}, CKB)
    sim = simulate(case, mode)  # type: ignore[arg-type]
    assert {"lump_behind_knee", "knee_arthritis_or_injury"} <= set(sim.state.answer_map)


@pytest.mark.parametrize("mode", ["self", "clinician"])
def test_ruptured_bakers_cyst_with_a_sudden_onset_is_urgent(mode: str) -> None:
    findings = SWOLLEN_CALF | {"lump_behind_knee": True, "knee_arthritis_or_injury": True}
    sim = simulate(parse_case({"age": 66, "sex": "female", "findings": findings}, CKB), mode)  # type: ignore[arg-type]
    assert sim.level == "urgent"
    assert CKB.candidates[int(sim.posterior.argmax())] in ("bakers_cyst", "deep_vein_thrombosis")


def test_knee_items_without_a_swollen_calf_are_not_due() -> None:
    s = answer(start(60, "female"), {k: "absent" for k in LOCATION} | {"knee_joint_pain": "present",
               "leg_pain_worse_than_back": "present"}, CKB, screen="where")
    asked: list[str] = []
    for _ in range(4):
        step = next_step(s)
        if step.question is None or step.question.phase != "warning":
            break
        asked += step.question.findings
        s = answer(s, {k: "absent" for k in step.question.findings}, CKB, screen=step.question.screen)
    assert "lump_behind_knee" not in asked and "knee_arthritis_or_injury" not in asked


@pytest.mark.parametrize("mode", ["self", "clinician"])
def test_stops_only_when_no_screen_could_change_the_decision(dev_v2_cases: list[Case], mode: str) -> None:
    """docs/interview.md: stop when no remaining screen would change the level or the leading condition
    with probability of at least stop.change_probability (not when the best-ranked screen per answer
    falls below it while another screen could still change the decision)."""
    for c in dev_v2_cases:
        sim = simulate(c, mode)  # type: ignore[arg-type]
        if sim.stop_reason != "confident":
            continue
        step = next_step(sim.state)
        assert step.should_stop
        assert all(pc < IV.stop.change_probability for _name, _v, pc in step.candidates), (c.id, step.candidates)
