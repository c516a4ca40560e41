"""Engine maths against hand-computed numbers on the tiny knowledge base (tests/data/tiny_kb).

The tiny KB, in numbers (P(present | condition); clip [0.02, 0.99]):

    finding      cond_a   cond_b   cond_e    notes
    f_back       0.80     0.10d    0.10d     d = the finding's default
    f_calf       0.50d    0.90g    0.80      g = grade very_common (0.9)
    f_legworse   0.90     0.50d    0.50d     implied (redundant) when f_back is absent
    f_cold       0.02c    0.02c    0.99c     c = clipped: default 0.01 -> 0.02, 0.999 -> 0.99
    f_numb       0.60     0.20d    0.20d     cluster "sensory", rho = 0.5
    f_tingle     0.50     0.20d    0.20d     cluster "sensory", rho = 0.5
    f_weak       0.50     0.10d    0.10d     implied (redundant) when f_drop is present
    f_drop       0.20     0.05d    0.05d
    f_sign       0.10d    0.70g    0.10d     a sign; g = grade typical (0.7)

    priors self   0.5 / 0.3 / 0.2  (sum 1)
    priors clinic 0.2 / 0.2 / 0.1  (sum 0.5 -> normalised 0.4 / 0.4 / 0.2)
    age bands [0, 39], [40, 120]: cond_b x 2.0 in the first band
    sex: cond_a x 2.0 for men

Every expected posterior below is prior x likelihood, normalised by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from numpy.testing import assert_allclose

from painpath.assessment import assess
from painpath.cases import encode, parse_case
from painpath.engine import compile_kb, evidence_weights, log_prior, posterior, triage_arrays
from painpath.engine.explain import contributions
from painpath.kb import load_kb
from tests.conftest import TINY_KB

RTOL = 1e-9  # float64 arithmetic; any real error in the maths moves these numbers by 1e-3 or more
CONDS = ("cond_a", "cond_b", "cond_e")


@pytest.fixture(scope="module")
def tiny():
    return compile_kb(load_kb(TINY_KB))


def ev_of(ckb, **answers: int) -> np.ndarray:
    """Evidence vector (+1 present, -1 absent, 0 unknown); unlisted findings unknown."""
    ev = np.zeros(len(ckb.findings), dtype=np.int8)
    for k, v in answers.items():
        ev[ckb.fidx[k]] = v
    return ev


def post(ckb, ev, age=50, female=True, setting="self") -> np.ndarray:
    return posterior(ckb, ev[None, :], np.array([age]), np.array([female]), setting)[0]


def norm(*xs: float) -> np.ndarray:
    a = np.array(xs, dtype=float)
    return a / a.sum()


# --- compilation ------------------------------------------------------------------------------


def test_compiled_shapes_and_order(tiny) -> None:
    assert tiny.conditions == CONDS
    assert tiny.findings == ("f_back", "f_calf", "f_legworse", "f_cold", "f_numb", "f_tingle", "f_weak", "f_drop", "f_sign")
    assert tiny.theta.shape == (3, 9)
    assert list(tiny.is_sign) == [False] * 8 + [True]
    assert tiny.origin == ("back", "leg", "vascular")


def test_theta_uses_explicit_values_grades_defaults_and_clip(tiny) -> None:
    th = tiny.theta
    c, f = tiny.cidx, tiny.fidx
    assert th[c["cond_a"], f["f_back"]] == 0.80  # explicit p
    assert th[c["cond_b"], f["f_back"]] == 0.10  # default
    assert th[c["cond_b"], f["f_calf"]] == 0.90  # grade very_common
    assert th[c["cond_b"], f["f_sign"]] == 0.70  # grade typical
    assert th[c["cond_e"], f["f_cold"]] == 0.99  # 0.999 clipped to the upper bound
    assert th[c["cond_a"], f["f_cold"]] == 0.02  # default 0.01 clipped to the lower bound
    assert_allclose(tiny.log_p, np.log(th).T, rtol=RTOL)
    assert_allclose(tiny.log_q, np.log(1 - th).T, rtol=RTOL)


# --- priors, age, sex, setting ----------------------------------------------------------------


def test_no_evidence_gives_the_prior(tiny) -> None:
    # age 50 (band 2: factor 1), female (factor 1): 0.5 / 0.3 / 0.2
    assert_allclose(post(tiny, ev_of(tiny)), [0.5, 0.3, 0.2], rtol=RTOL)


def test_clinic_priors_are_normalised(tiny) -> None:
    # 0.2 / 0.2 / 0.1 over 0.5 = 0.4 / 0.4 / 0.2
    assert_allclose(post(tiny, ev_of(tiny), setting="clinic"), [0.4, 0.4, 0.2], rtol=RTOL)
    assert_allclose(np.exp(tiny.log_prior["clinic"]), [0.4, 0.4, 0.2], rtol=RTOL)


def test_age_modifier(tiny) -> None:
    # age 30: cond_b x 2 -> 0.5, 0.6, 0.2 (sum 1.3) = 5/13, 6/13, 2/13
    assert_allclose(post(tiny, ev_of(tiny), age=30), [5 / 13, 6 / 13, 2 / 13], rtol=RTOL)


@pytest.mark.parametrize(("age", "young"), [(0, True), (39, True), (40, False), (120, False)])
def test_age_band_boundaries(tiny, age: int, young: bool) -> None:
    expected = [5 / 13, 6 / 13, 2 / 13] if young else [0.5, 0.3, 0.2]
    assert_allclose(post(tiny, ev_of(tiny), age=age), expected, rtol=RTOL)


def test_sex_modifier(tiny) -> None:
    # male: cond_a x 2 -> 1.0, 0.3, 0.2 (sum 1.5) = 2/3, 1/5, 2/15
    assert_allclose(post(tiny, ev_of(tiny), female=False), [2 / 3, 1 / 5, 2 / 15], rtol=RTOL)


def test_age_and_sex_modifiers_multiply(tiny) -> None:
    # age 30, male: 0.5*2, 0.3*2, 0.2 = 1.0, 0.6, 0.2 (sum 1.8) = 5/9, 1/3, 1/9
    assert_allclose(post(tiny, ev_of(tiny), age=30, female=False), [5 / 9, 1 / 3, 1 / 9], rtol=RTOL)


def test_log_prior_vectorised(tiny) -> None:
    lp = log_prior(tiny, np.array([30, 50]), np.array([False, True]), "self")
    assert lp.shape == (2, 3)
    # unnormalised: row 0 = log(0.5*2, 0.3*2, 0.2); row 1 = log(0.5, 0.3, 0.2)
    assert_allclose(np.exp(lp), [[1.0, 0.6, 0.2], [0.5, 0.3, 0.2]], rtol=RTOL)


# --- present / absent / unknown ------------------------------------------------------------------


def test_one_finding_present(tiny) -> None:
    # f_back present: 0.5*0.8 = 0.40, 0.3*0.1 = 0.03, 0.2*0.1 = 0.02 (sum 0.45)
    assert_allclose(post(tiny, ev_of(tiny, f_back=1)), [40 / 45, 3 / 45, 2 / 45], rtol=RTOL)


def test_one_finding_absent(tiny) -> None:
    # f_back absent: 0.5*0.2 = 0.10, 0.3*0.9 = 0.27, 0.2*0.9 = 0.18 (sum 0.55)
    assert_allclose(post(tiny, ev_of(tiny, f_back=-1)), [10 / 55, 27 / 55, 18 / 55], rtol=RTOL)


def test_unknown_adds_nothing(tiny) -> None:
    assert_allclose(post(tiny, ev_of(tiny, f_back=1, f_calf=0, f_sign=0)), [40 / 45, 3 / 45, 2 / 45], rtol=RTOL)


def test_two_independent_findings(tiny) -> None:
    # f_back present, f_calf present (no cluster, no implication):
    # a: 0.5*0.8*0.5 = 0.200; b: 0.3*0.1*0.9 = 0.027; e: 0.2*0.1*0.8 = 0.016 (sum 0.243)
    assert_allclose(post(tiny, ev_of(tiny, f_back=1, f_calf=1)), norm(0.200, 0.027, 0.016), rtol=RTOL)


def test_clipped_strengths(tiny) -> None:
    # f_cold present: a 0.5*0.02 = 0.010; b 0.3*0.02 = 0.006; e 0.2*0.99 = 0.198 (sum 0.214)
    assert_allclose(post(tiny, ev_of(tiny, f_cold=1)), [0.010 / 0.214, 0.006 / 0.214, 0.198 / 0.214], rtol=RTOL)


def test_evidence_with_age_sex_and_setting(tiny) -> None:
    # clinic priors 0.4/0.4/0.2, age 30 (b x2), male (a x2) -> 0.8, 0.8, 0.2
    # f_calf present: 0.8*0.5 = 0.40, 0.8*0.9 = 0.72, 0.2*0.8 = 0.16 (sum 1.28)
    got = post(tiny, ev_of(tiny, f_calf=1), age=30, female=False, setting="clinic")
    assert_allclose(got, [0.40 / 1.28, 0.72 / 1.28, 0.16 / 1.28], rtol=RTOL)


# --- implications (redundancy) ---------------------------------------------------------------


def test_implied_finding_alone_counts(tiny) -> None:
    # f_weak present alone: 0.5*0.5 = 0.25, 0.3*0.1 = 0.03, 0.2*0.1 = 0.02 (sum 0.30)
    assert_allclose(post(tiny, ev_of(tiny, f_weak=1)), [0.25 / 0.3, 0.03 / 0.3, 0.02 / 0.3], rtol=RTOL)


def test_implied_finding_adds_nothing_when_implying_one_present(tiny) -> None:
    # f_drop present: 0.5*0.2 = 0.100, 0.3*0.05 = 0.015, 0.2*0.05 = 0.010 (sum 0.125)
    expected = [0.8, 0.12, 0.08]
    assert_allclose(post(tiny, ev_of(tiny, f_drop=1)), expected, rtol=RTOL)
    # f_weak present too is implied by f_drop: no further evidence
    assert_allclose(post(tiny, ev_of(tiny, f_drop=1, f_weak=1)), expected, rtol=RTOL)
    # nor when stated absent (a contradiction, still redundant)
    assert_allclose(post(tiny, ev_of(tiny, f_drop=1, f_weak=-1)), expected, rtol=RTOL)


def test_implied_finding_counts_when_implying_one_absent(tiny) -> None:
    # f_drop absent does not make f_weak redundant (only if_present is declared):
    # a 0.5*0.8*0.5 = 0.200; b 0.3*0.95*0.1 = 0.0285; e 0.2*0.95*0.1 = 0.019
    assert_allclose(post(tiny, ev_of(tiny, f_drop=-1, f_weak=1)), norm(0.200, 0.0285, 0.019), rtol=RTOL)


def test_if_absent_implication(tiny) -> None:
    # f_back absent makes f_legworse redundant: same as f_back absent alone
    assert_allclose(post(tiny, ev_of(tiny, f_back=-1, f_legworse=1)), [10 / 55, 27 / 55, 18 / 55], rtol=RTOL)
    # with f_back present, f_legworse counts: 0.5*0.8*0.9 = 0.36, 0.3*0.1*0.5 = 0.015, 0.2*0.1*0.5 = 0.010
    assert_allclose(post(tiny, ev_of(tiny, f_back=1, f_legworse=1)), norm(0.36, 0.015, 0.010), rtol=RTOL)


def test_evidence_weights_mark_redundancy(tiny) -> None:
    w = evidence_weights(tiny, ev_of(tiny, f_drop=1, f_weak=1, f_back=-1, f_legworse=1, f_calf=0)[None, :])[0]
    f = tiny.fidx
    assert w[f["f_drop"]] == 1.0
    assert w[f["f_weak"]] == 0.0
    assert w[f["f_back"]] == 1.0
    assert w[f["f_legworse"]] == 0.0
    assert w[f["f_calf"]] == 0.0  # unknown
    assert w[f["f_sign"]] == 0.0  # unanswered


# --- cluster damping ----------------------------------------------------------------------


def test_single_cluster_member_is_not_damped(tiny) -> None:
    # f_numb present only (m = 1, weight 1): 0.5*0.6 = 0.30, 0.3*0.2 = 0.06, 0.2*0.2 = 0.04 (sum 0.40)
    assert_allclose(post(tiny, ev_of(tiny, f_numb=1)), [0.75, 0.15, 0.10], rtol=RTOL)


def test_two_cluster_members_are_damped(tiny) -> None:
    # m = 2, rho = 0.5: each weight 1 / (1 + 0.5 * (2 - 1)) = 2/3
    w = 2 / 3
    # both present: a 0.5 * (0.6*0.5)^w, b 0.3 * (0.2*0.2)^w, e 0.2 * (0.2*0.2)^w
    expected = norm(0.5 * (0.6 * 0.5) ** w, 0.3 * (0.2 * 0.2) ** w, 0.2 * (0.2 * 0.2) ** w)
    assert_allclose(post(tiny, ev_of(tiny, f_numb=1, f_tingle=1)), expected, rtol=RTOL)
    weights = evidence_weights(tiny, ev_of(tiny, f_numb=1, f_tingle=1)[None, :])[0]
    assert_allclose(weights[[tiny.fidx["f_numb"], tiny.fidx["f_tingle"]]], [w, w], rtol=RTOL)


def test_absent_answers_count_towards_the_cluster(tiny) -> None:
    # f_numb present, f_tingle absent: m = 2, weight 2/3
    # a 0.5 * (0.6*0.5)^w, b 0.3 * (0.2*0.8)^w, e 0.2 * (0.2*0.8)^w
    w = 2 / 3
    expected = norm(0.5 * (0.6 * 0.5) ** w, 0.3 * (0.2 * 0.8) ** w, 0.2 * (0.2 * 0.8) ** w)
    assert_allclose(post(tiny, ev_of(tiny, f_numb=1, f_tingle=-1)), expected, rtol=RTOL)


def test_unknown_cluster_member_does_not_damp(tiny) -> None:
    assert_allclose(post(tiny, ev_of(tiny, f_numb=1, f_tingle=0)), [0.75, 0.15, 0.10], rtol=RTOL)


def test_cluster_rho_is_read_from_the_kb(tiny_copy: Path) -> None:
    path = tiny_copy / "dependence.yaml"
    data = yaml.safe_load(path.read_text())
    data["clusters"]["sensory"]["rho"] = 1.0
    path.write_text(yaml.safe_dump(data))
    ckb = compile_kb(load_kb(tiny_copy))
    # rho = 1, m = 2: weight 1/2 each
    expected = norm(0.5 * (0.6 * 0.5) ** 0.5, 0.3 * (0.2 * 0.2) ** 0.5, 0.2 * (0.2 * 0.2) ** 0.5)
    assert_allclose(post(ckb, ev_of(ckb, f_numb=1, f_tingle=1)), expected, rtol=RTOL)


# --- temperature -------------------------------------------------------------------------


def test_temperature_divides_log_likelihood_not_prior(tiny_copy: Path) -> None:
    path = tiny_copy / "model.yaml"
    data = yaml.safe_load(path.read_text())
    data["temperature"] = 2.0
    path.write_text(yaml.safe_dump(data))
    ckb = compile_kb(load_kb(tiny_copy))
    assert ckb.temperature == 2.0
    # f_back present, T = 2: a 0.5 * 0.8^(1/2), b 0.3 * 0.1^(1/2), e 0.2 * 0.1^(1/2)
    expected = norm(0.5 * 0.8**0.5, 0.3 * 0.1**0.5, 0.2 * 0.1**0.5)
    assert_allclose(post(ckb, ev_of(ckb, f_back=1)), expected, rtol=RTOL)
    # no evidence: the prior is untouched by the temperature
    assert_allclose(post(ckb, ev_of(ckb)), [0.5, 0.3, 0.2], rtol=RTOL)


# --- batch -----------------------------------------------------------------------------


def test_batch_rows_are_independent(tiny) -> None:
    evs = np.stack([ev_of(tiny, f_back=1), ev_of(tiny, f_back=-1), ev_of(tiny), ev_of(tiny, f_numb=1)])
    got = posterior(tiny, evs, np.array([50, 50, 30, 50]), np.array([True, True, True, True]), "self")
    expected = [[40 / 45, 3 / 45, 2 / 45], [10 / 55, 27 / 55, 18 / 55], [5 / 13, 6 / 13, 2 / 13], [0.75, 0.15, 0.10]]
    assert_allclose(got, expected, rtol=RTOL)


# --- from a case: the answer rules -----------------------------------------------------------


def test_case_answer_rules_self_mode(tiny) -> None:
    # A case listing nothing: every symptom is absent, the sign unknown.
    case = parse_case({"age": 50, "sex": "female", "findings": {"f_sign": True}}, tiny)
    ev = encode(case, tiny, "self")
    assert ev[tiny.fidx["f_sign"]] == 0  # signs hidden in self mode
    assert all(ev[tiny.fidx[k]] == -1 for k in tiny.findings if k != "f_sign")
    # Likelihood of "all 8 symptoms absent" (f_legworse redundant since f_back absent;
    # f_numb and f_tingle in the cluster with weight 2/3):
    #   a: 0.2 (back) * 0.5 (calf) * 0.98 (cold) * (0.4 * 0.5)^(2/3) * 0.5 (weak) * 0.8 (drop)
    #   b: 0.9 * 0.1 * 0.98 * (0.8 * 0.8)^(2/3) * 0.9 * 0.95
    #   e: 0.9 * 0.2 * 0.01 * (0.8 * 0.8)^(2/3) * 0.9 * 0.95
    w = 2 / 3
    la = 0.2 * 0.5 * 0.98 * (0.4 * 0.5) ** w * 0.5 * 0.8
    lb = 0.9 * 0.1 * 0.98 * (0.8 * 0.8) ** w * 0.9 * 0.95
    le = 0.9 * 0.2 * 0.01 * (0.8 * 0.8) ** w * 0.9 * 0.95
    a = assess(case, mode="self", ckb=tiny)
    got = {c.key: c.probability for c in a.conditions}
    assert_allclose([got[k] for k in CONDS], norm(0.5 * la, 0.3 * lb, 0.2 * le), rtol=RTOL)
    assert a.setting == "self"


def test_case_answer_rules_clinician_mode(tiny) -> None:
    # clinician: clinic priors, the sign counts; null is unknown
    findings = {k: None for k in ("f_back", "f_calf", "f_legworse", "f_cold", "f_numb", "f_tingle", "f_weak", "f_drop")}
    findings["f_sign"] = True
    case = parse_case({"age": 50, "sex": "female", "findings": findings}, tiny)
    # 0.4*0.1 = 0.04, 0.4*0.7 = 0.28, 0.2*0.1 = 0.02 (sum 0.34)
    a = assess(case, mode="clinician", ckb=tiny)
    got = {c.key: c.probability for c in a.conditions}
    assert_allclose([got[k] for k in CONDS], [0.04 / 0.34, 0.28 / 0.34, 0.02 / 0.34], rtol=RTOL)
    assert a.conditions[0].key == "cond_b"
    assert a.origin["leg"] == pytest.approx(0.28 / 0.34, rel=RTOL)
    assert a.origin["systemic"] == 0.0


# --- condition-driven triage on the tiny KB ------------------------------------------------


def _level(ckb, ev, **kw) -> tuple[int, int]:
    p = post(ckb, ev, **kw)
    t = triage_arrays(ckb, ev[None, :], p[None, :])
    return int(t.level_rank[0]), int(t.floor_rank[0])


def test_condition_level_threshold_rule(tiny) -> None:
    # f_back present: e = 2/45 = 0.044 < 0.10 (emergency), urgent mass = e = 0.044 < 0.20,
    # soon mass = b + e = 5/45 = 0.111 < 0.33 -> self_care
    assert _level(tiny, ev_of(tiny, f_back=1)) == (0, -1)
    # no evidence: e = 0.2 >= 0.10 -> emergency from the conditions, no floor
    assert _level(tiny, ev_of(tiny)) == (3, -1)
    # f_back absent: e = 18/55 = 0.327 >= 0.10 -> emergency
    assert _level(tiny, ev_of(tiny, f_back=-1)) == (3, -1)


def test_escalation_raises_the_condition_level(tiny) -> None:
    # f_weak present: a = 0.25/0.30, e = 0.02/0.30 = 0.067 < 0.10; escalation a_weak makes
    # cond_a urgent, so urgent mass = a + e = 0.9 >= 0.20 -> urgent
    ev = ev_of(tiny, f_weak=1)
    p = post(tiny, ev)
    t = triage_arrays(tiny, ev[None, :], p[None, :])
    assert list(t.effective_ranks[0]) == [2, 1, 3]
    assert int(t.level_rank[0]) == 2
    assert bool(t.escalations_fired[0, 0])


def test_floor_holds_whatever_the_probabilities(tiny) -> None:
    # f_cold present with strong evidence for cond_a: floor emergency still holds
    ev = ev_of(tiny, f_cold=1, f_back=1, f_numb=1, f_legworse=1)
    assert _level(tiny, ev) == (3, 3)


# --- explanations ----------------------------------------------------------------------


def test_contributions_by_hand(tiny) -> None:
    # f_back present alone, posterior p = (40, 3, 2)/45.
    # For cond_a: others = (0.1*3 + 0.1*2)/45 / (1 - 40/45) = 0.1 -> log(0.8/0.1) = log 8
    ev = ev_of(tiny, f_back=1)
    w = evidence_weights(tiny, ev[None, :])[0]
    p = post(tiny, ev)
    c = contributions(tiny, ev, w, p)
    assert c.shape == (9, 3)
    assert c[tiny.fidx["f_back"], 0] == pytest.approx(np.log(8.0), rel=RTOL)
    # for cond_b: others = (0.8*40 + 0.1*2)/45 / (1 - 3/45) = 32.2/42 -> log(0.1 / (32.2/42))
    assert c[tiny.fidx["f_back"], 1] == pytest.approx(np.log(0.1 / (32.2 / 42)), rel=RTOL)
    # unanswered findings contribute nothing
    assert np.all(c[np.arange(9) != tiny.fidx["f_back"]] == 0.0)


def test_large_batches_use_the_same_weights(tiny) -> None:
    # Batches of many rows may take a different code path; the hand-computed weights must hold there too.
    rows = [ev_of(tiny, f_numb=1, f_tingle=1), ev_of(tiny, f_drop=1, f_weak=1), ev_of(tiny, f_back=-1, f_legworse=1),
            ev_of(tiny, f_numb=1)]
    batch = np.stack(rows * 50)  # 200 rows
    w = evidence_weights(tiny, batch)
    f = tiny.fidx
    for i in range(0, 200, 4):
        assert_allclose(w[i, [f["f_numb"], f["f_tingle"]]], [2 / 3, 2 / 3], rtol=RTOL)
        assert w[i + 1, f["f_weak"]] == 0.0 and w[i + 1, f["f_drop"]] == 1.0
        assert w[i + 2, f["f_legworse"]] == 0.0 and w[i + 2, f["f_back"]] == 1.0
        assert w[i + 3, f["f_numb"]] == 1.0 and w[i + 3, f["f_tingle"]] == 0.0
    p = posterior(tiny, batch, np.full(200, 50), np.full(200, True), "self")
    assert_allclose(p[3::4], np.tile([0.75, 0.15, 0.10], (50, 1)), rtol=RTOL)
    assert_allclose(p[1::4], np.tile([0.8, 0.12, 0.08], (50, 1)), rtol=RTOL)
