"""The knowledge base reproduces published accuracy tables (calibration, issue 13 item 8).

A study's sensitivity and specificity (or its likelihood ratios) describe how much a finding
moves the odds of a condition in the study's population. The engine has no single "specificity":
the false-positive side of a finding is its strength in every competing condition (and in the
unlisted-cause class, when the knowledge base has one), weighted by how probable each competitor
is. So every published figure is turned into a test on the whole model, by these rules:

* **Cases** are built directly as evidence vectors. The findings a test names are present (+1)
  or absent (-1); every other finding is *unknown* (0), unless the test says "other symptoms
  denied": then every symptom and history finding not named is absent (the benchmark's
  case-file rule) while signs stay unknown.
* **Clinician mode** means the ``clinic`` prior setting with signs usable; self mode the
  ``self`` setting (signs are not used in self-mode tests).
* **Implied likelihood ratio** of finding *f* for condition *c* in a reference case *R*
  (the study's population as closely as the findings can state it)::

      LR+ = odds(c | R, f present) / odds(c | R, f unknown)
      LR- = odds(c | R, f absent)  / odds(c | R, f unknown)

  i.e. the posterior odds ratio with versus without the finding, every other finding held as
  in R. This is sensitivity / (1 - specificity) with the competitors weighted as the model
  weighs them in R.
* **Band prevalence** (the Wells score): the posterior of DVT averaged over every combination
  of the Wells items whose score falls in the band (items present, the remaining items
  absent, everything else unknown). The item "alternative diagnosis at least as likely"
  (-2 points) and "entire leg swollen" have no finding, so the score runs over the other
  eight items; the high band uses scores 3 and 4, which hold most high-band patients.
* **Tolerances** are stated per table: the issue's bands for Wells, a factor of 2.5 for Suri
  2010 (spectrum: specialty spine clinic vs a wider leg-pain population), the published
  spectrum range for the straight-leg raise, a factor of 2 for single-study figures measured
  in a matching population.

A figure that a study reports as sensitivity is also checked against the strength the knowledge
base stores for the condition (P(finding | condition) = sensitivity).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from painpath.engine import default_compiled
from painpath.engine.posterior import posterior

CKB = default_compiled()
SEXES = (False, True)  # male, female


def _vec(present=(), absent=(), *, deny_rest: bool = False) -> np.ndarray:
    ev = np.where(CKB.is_sign, 0, -1).astype(np.int8) if deny_rest else np.zeros(len(CKB.findings), np.int8)
    for f in absent:
        ev[CKB.fidx[f]] = -1
    for f in present:
        ev[CKB.fidx[f]] = 1
    return ev


def _p(cond: str, ev: np.ndarray, age: int, female: bool, setting: str = "clinic") -> float:
    post = posterior(CKB, ev[None, :], np.array([age]), np.array([female]), setting)[0]
    return float(post[CKB.cidx[cond]])


def _odds(p: float) -> float:
    return p / (1.0 - p)


def implied_lr(cond: str, finding: str, base: list[str], *, age: int, female: bool, setting: str = "clinic",
               present: bool = True) -> float:
    """Posterior odds ratio of ``cond`` with the finding present (or absent) vs unknown, in case ``base``."""
    p0 = _p(cond, _vec(base), age, female, setting)
    p1 = _p(cond, _vec(base + [finding]) if present else _vec(base, [finding]), age, female, setting)
    return _odds(p1) / _odds(p0)


def _strength(cond: str, finding: str) -> float:
    return float(CKB.theta[CKB.cidx[cond], CKB.fidx[finding]])


# --------------------------------------------------------------------------------------------
# Wells score for DVT (Wells 1997 Lancet; Wells 2006 JAMA: low / moderate / high about 5% / 17% /
# 53%), clinician mode, a calf-pain presentation.
# --------------------------------------------------------------------------------------------

WELLS_ITEMS = (
    "active_cancer",
    "leg_recently_in_cast",
    "recent_immobility_surgery_travel",
    "deep_vein_tenderness",
    "calf_circumference_3cm_larger",
    "pitting_oedema_one_leg",
    "collateral_superficial_veins",
    "previous_dvt",
)
CALF = ["calf_pain", "pain_below_knee"]
WELLS_AGE = 60  # mean age of the Wells cohorts was in the late fifties


def wells_band(scores: tuple[int, ...], female: bool, *, deny_rest: bool = False) -> float:
    vals = []
    for k in scores:
        for combo in itertools.combinations(WELLS_ITEMS, k):
            rest = [w for w in WELLS_ITEMS if w not in combo]
            ev = _vec(CALF + list(combo), rest, deny_rest=deny_rest)
            vals.append(_p("deep_vein_thrombosis", ev, WELLS_AGE, female))
    return float(np.mean(vals))


@pytest.mark.parametrize("female", SEXES)
@pytest.mark.parametrize(
    ("band", "scores", "lo", "hi"),
    [("low", (0,), 0.02, 0.10), ("moderate", (1, 2), 0.08, 0.35), ("high", (3, 4), 0.35, 0.85)],
)
def test_wells_bands_other_symptoms_unknown(band: str, scores: tuple[int, ...], lo: float, hi: float,
                                            female: bool) -> None:
    p = wells_band(scores, female)
    assert lo <= p <= hi, f"Wells {band}: DVT {p:.3f}, published band range {lo}-{hi}"


@pytest.mark.parametrize("female", SEXES)
def test_wells_bands_rise_in_order(female: bool) -> None:
    low, mod, high = (wells_band(s, female) for s in ((0,), (1, 2), (3, 4)))
    assert low < mod < high
    # the published band prevalences are about 3.4x and 3.1x apart (5 -> 17 -> 53%)
    assert 1.5 <= mod / low <= 6 and 1.5 <= high / mod <= 6, (low, mod, high)


@pytest.mark.parametrize("female", SEXES)
def test_wells_low_calf_pain_with_other_symptoms_denied(female: bool) -> None:
    p = wells_band((0,), female, deny_rest=True)
    assert p <= 0.15, f"Wells-low calf pain, everything else denied: DVT {p:.3f} (published low band about 0.05)"


# Goodacre 2005 (Ann Intern Med; outpatients with suspected DVT): single items.
GOODACRE = [
    ("active_cancer", True, 2.71),
    ("previous_dvt", True, 2.25),
    ("recent_immobility_surgery_travel", True, 1.98),
    ("leg_recently_in_cast", True, 1.98),
    ("calf_circumference_3cm_larger", True, 1.80),
    ("calf_circumference_3cm_larger", False, 0.57),
]


@pytest.mark.parametrize(("finding", "present", "published"), GOODACRE)
def test_dvt_items_goodacre_2005(finding: str, present: bool, published: float) -> None:
    for female in SEXES:
        lr = implied_lr("deep_vein_thrombosis", finding, CALF, age=WELLS_AGE, female=female, present=present)
        assert published / 2 <= lr <= published * 2, f"{finding} {'+' if present else '-'}: implied {lr:.2f}"


@pytest.mark.parametrize("finding", ["deep_vein_tenderness", "pitting_oedema_one_leg", "collateral_superficial_veins"])
def test_dvt_signs_not_useful_alone(finding: str) -> None:
    """Goodacre 2005: only features with LR+ >= 1.76 were useful for ruling in; these were not."""
    for female in SEXES:
        lr = implied_lr("deep_vein_thrombosis", finding, CALF, age=WELLS_AGE, female=female)
        assert 1.0 < lr <= 1.76 * 1.5, f"{finding}: implied LR+ {lr:.2f}"


# --------------------------------------------------------------------------------------------
# Lumbar spinal stenosis: Suri 2010 JAMA 304:2628, Table 3 (specialty spine clinic, reference
# expert diagnosis with imaging). Reference case: age 70, pain below the knee.
# --------------------------------------------------------------------------------------------

SURI = [
    # finding, published LR+, published sensitivity
    ("walking_pain_relieved_sitting_bending", 3.7, 0.82),  # neurogenic claudication 0.82 / 0.78
    ("cycling_easier_than_walking", 6.4, 0.52),  # symptoms improve bending forward 0.52 / 0.92
    pytest.param(
        "pain_both_legs", 6.3, 0.51,  # bilateral buttock or leg pain 0.51 / 0.92
        marks=pytest.mark.xfail(
            strict=True,
            reason="known gap (spectrum, not strengths): 'symptoms in both legs' also counts numbness and "
                   "tingling, and at age 70 with below-knee pain alone polyneuropathy (0.85, Feldman), arterial "
                   "disease, night cramps and venous disease, all often bilateral, hold about a third of the "
                   "non-stenosis probability; Suri's spine-clinic population had none of them, so the implied "
                   "LR+ is 2.15-2.5, just outside 6.3 / 2.5 (in a spine presentation it is 5.2-5.4: "
                   "test_suri_2010_items_in_a_spine_presentation); the literature supports these competitors' "
                   "rates or higher ones, none lower (docs/methodology.md, 'Known gap')"),
    ),
]


@pytest.mark.parametrize(("finding", "published", "sens"), SURI)
@pytest.mark.parametrize("setting", ["clinic", "self"])
def test_suri_2010_stenosis_items(finding: str, published: float, sens: float, setting: str) -> None:
    for female in SEXES:
        lr = implied_lr("lumbar_stenosis", finding, ["pain_below_knee"], age=70, female=female, setting=setting)
        assert published / 2.5 <= lr <= published * 2.5, f"{finding}: implied LR+ {lr:.2f}, Suri 2010 {published}"


SPINE = ["low_back_pain", "buttock_pain", "pain_below_knee"]


@pytest.mark.parametrize(("finding", "published"), [("walking_pain_relieved_sitting_bending", 3.7),
                                                    ("cycling_easier_than_walking", 6.4), ("pain_both_legs", 6.3)])
@pytest.mark.parametrize("setting", ["clinic", "self"])
def test_suri_2010_items_in_a_spine_presentation(finding: str, published: float, setting: str) -> None:
    """Suri 2010 measured its items in older adults seen in specialty spine clinics, whose non-stenosis
    patients mostly had disc and back pain. Stated as findings (age 70, back, buttock and below-knee pain)
    the knowledge base reproduces all three LR+ within the factor 2.5 (measured: 3.9, 6.8, 5.2-5.4); with
    below-knee pain alone the bilateral causes outside the spine compete and "both legs" cannot (the xfail
    above)."""
    for female in SEXES:
        lr = implied_lr("lumbar_stenosis", finding, SPINE, age=70, female=female, setting=setting)
        assert published / 2.5 <= lr <= published * 2.5, f"{finding}: implied LR+ {lr:.2f}, Suri 2010 {published}"


@pytest.mark.parametrize(
    ("finding", "sens"),
    [("walking_pain_relieved_sitting_bending", 0.82), ("cycling_easier_than_walking", 0.52), ("pain_both_legs", 0.51)],
)
def test_suri_2010_sensitivity_is_the_stored_strength(finding: str, sens: float) -> None:
    assert abs(_strength("lumbar_stenosis", finding) - sens) <= 0.10  # adapted entries state their reason


def test_neurogenic_claudication_absent_rules_out_as_published() -> None:
    """Suri 2010: no neurogenic claudication LR- 0.23 (0.17-0.31)."""
    for female in SEXES:
        lr = implied_lr("lumbar_stenosis", "walking_pain_relieved_sitting_bending", ["pain_below_knee"], age=70,
                        female=female, present=False)
        assert 0.23 / 2 <= lr <= 0.23 * 2, lr


# --------------------------------------------------------------------------------------------
# Straight-leg raise for a lumbar nerve root. Spectrum: pooled surgical series give LR+ 1.28
# (sensitivity 0.92, specificity 0.28; van der Windt 2010 Cochrane); against MRI in people with
# sciatica 1.38 (0.36 / 0.74; Capra 2011); in a small MRI study about 3.1 (0.52 / 0.83; Majlesi
# 2008). A clinic case of back-related leg pain lies between: the implied LR+ must fall in
# 1.2-5.0 (not the 5-13 of a sensitivity set against a 5% background).
# Reference case: age 45, low back pain with pain below the knee, clinician mode.
# --------------------------------------------------------------------------------------------

BACK_LEG = ["low_back_pain", "pain_below_knee"]


@pytest.mark.parametrize("female", SEXES)
def test_straight_leg_raise_spectrum(female: bool) -> None:
    pos = implied_lr("lumbar_radicular", "slr_positive", BACK_LEG, age=45, female=female)
    neg = implied_lr("lumbar_radicular", "slr_positive", BACK_LEG, age=45, female=female, present=False)
    assert 1.2 <= pos <= 5.0, f"SLR implied LR+ {pos:.2f}"
    # LR- 0.29 (surgical series) to 0.87 (Capra 2011)
    assert 0.2 <= neg <= 0.87, f"SLR implied LR- {neg:.2f}"


@pytest.mark.parametrize("female", SEXES)
def test_crossed_straight_leg_raise(female: bool) -> None:
    """van der Windt 2010: crossed SLR sensitivity 0.28, specificity 0.90, LR+ 2.8."""
    lr = implied_lr("lumbar_radicular", "crossed_slr_positive", BACK_LEG, age=45, female=female)
    assert 2.8 / 2 <= lr <= 2.8 * 2, lr
    assert abs(_strength("lumbar_radicular", "crossed_slr_positive") - 0.28) <= 0.02


@pytest.mark.parametrize("female", SEXES)
def test_slump_test(female: bool) -> None:
    """Majlesi 2008 (MRI): slump sensitivity 0.84, specificity 0.83, LR+ 4.9."""
    lr = implied_lr("lumbar_radicular", "slump_positive", BACK_LEG, age=45, female=female)
    assert 4.9 / 2 <= lr <= 4.9 * 2, lr


# --------------------------------------------------------------------------------------------
# New conditions of benchmark v2. Each study examined the sign in people in whom the condition was
# in question (clinic spectrum), so the reference case states the presentation that brings the
# question up and the sign is the only examination finding.
# --------------------------------------------------------------------------------------------

# finding present?, published LR, tolerance factor, reference case, age, source
NEW_CONDITION_TABLES = [
    # Achilles rupture: Maffulli 1998 (174 ruptures, 28 without), pooled by Reiman 2014.
    ("achilles_rupture", "thompson_test_positive", True, 13.7, 2.0,
     ["achilles_pain", "pain_below_knee", "onset_sudden_during_activity"], 40, "calf squeeze 0.96 / 0.93"),
    ("achilles_rupture", "thompson_test_positive", False, 0.04, 2.0,
     ["achilles_pain", "pain_below_knee", "onset_sudden_during_activity"], 40, "calf squeeze LR- 0.04"),
    ("achilles_rupture", "achilles_gap_palpable", True, 6.6, 2.0,
     ["achilles_pain", "pain_below_knee", "onset_sudden_during_activity"], 40, "palpable gap 0.73 / 0.89"),
    ("achilles_rupture", "achilles_gap_palpable", False, 0.30, 2.0,
     ["achilles_pain", "pain_below_knee", "onset_sudden_during_activity"], 40, "palpable gap LR- 0.30"),
    # Hip osteoarthritis: ACR clinical criteria (Altman 1991) 0.86 / 0.75, LR+ 3.4; restriction in any
    # single plane among new GP hip-pain attenders (Birrell 2001) 0.86 / 0.54, LR+ 1.9. Factor 2 of
    # 2.5 covers both spectra.
    ("hip_osteoarthritis", "hip_rotation_painful_limited", True, 2.5, 2.0, ["groin_pain"], 60,
     "painful limited rotation, LR+ 1.9 (GP) to 3.4 (ACR derivation)"),
    ("hip_osteoarthritis", "hip_rotation_painful_limited", False, 0.22, 2.0, ["groin_pain"], 60,
     "normal rotation, LR- 0.19 (ACR) to 0.26 (GP)"),
    # Meniscal tear: Hegedus 2007 pooled (arthroscopy or MRI reference).
    ("knee_internal_derangement", "meniscal_test_positive", True, 2.4, 2.0,
     ["knee_joint_pain", "onset_twisting_injury"], 35, "McMurray 0.70 / 0.71"),
    ("knee_internal_derangement", "meniscal_test_positive", False, 0.42, 2.0,
     ["knee_joint_pain", "onset_twisting_injury"], 35, "McMurray LR- 0.42"),
    ("knee_internal_derangement", "joint_line_tenderness", True, 2.7, 2.0,
     ["knee_joint_pain", "onset_twisting_injury"], 35, "joint-line tenderness 0.63 / 0.77"),
    ("knee_internal_derangement", "joint_line_tenderness", False, 0.48, 2.0,
     ["knee_joint_pain", "onset_twisting_injury"], 35, "joint-line tenderness LR- 0.48"),
]


@pytest.mark.parametrize(("cond", "finding", "present", "published", "factor", "base", "age", "what"),
                         NEW_CONDITION_TABLES)
def test_new_condition_tables(cond: str, finding: str, present: bool, published: float, factor: float,
                              base: list[str], age: int, what: str) -> None:
    for female in SEXES:
        lr = implied_lr(cond, finding, base, age=age, female=female, present=present)
        assert published / factor <= lr <= published * factor, f"{cond} {what}: implied {lr:.3f}"


@pytest.mark.parametrize(
    ("cond", "finding", "sens"),
    [
        ("achilles_rupture", "thompson_test_positive", 0.96),
        ("achilles_rupture", "achilles_gap_palpable", 0.73),
        ("knee_internal_derangement", "meniscal_test_positive", 0.70),
        ("knee_internal_derangement", "joint_line_tenderness", 0.63),
        ("hip_osteoarthritis", "hip_rotation_painful_limited", 0.86),
    ],
)
def test_new_condition_sensitivity_is_the_stored_strength(cond: str, finding: str, sens: float) -> None:
    assert abs(_strength(cond, finding) - sens) <= 0.10


def test_a_sign_is_never_decisive_alone() -> None:
    """No single examination finding moves the odds of its condition by more than the best published
    single signs do (wide-based gait LR+ 13, calf squeeze 13.7, Lachman 14): a factor of 30 in
    the reference cases above (the 5-13 SLR and 190 calf-squeeze LRs of a 0.5-5% background are gone)."""
    cases = [(c, f, base, age) for c, f, present, _p, _k, base, age, _w in NEW_CONDITION_TABLES if present]
    cases += [("lumbar_radicular", f, BACK_LEG, 45) for f in ("slr_positive", "crossed_slr_positive", "slump_positive")]
    cases += [("deep_vein_thrombosis", f, CALF, WELLS_AGE) for f in WELLS_ITEMS]
    for cond, finding, base, age in cases:
        for female in SEXES:
            lr = implied_lr(cond, finding, base, age=age, female=female)
            assert lr <= 30, f"{cond} {finding}: implied LR+ {lr:.1f}"


# --------------------------------------------------------------------------------------------
# Back-related leg pain in primary care (ATLAS: Stynes 2018, 74% sciatica) and people examined
# for radiculopathy. Reference case: the sciatica-pattern presentation of those cohorts - back
# pain with buttock, back-of-thigh and below-knee pain - so that leg causes with incidental back
# pain (absent from those cohorts) do not compete.
# --------------------------------------------------------------------------------------------

BACK_RELATED_LEG_PAIN = ["low_back_pain", "buttock_pain", "posterior_thigh_pain", "pain_below_knee"]


@pytest.mark.parametrize("female", SEXES)
def test_cough_sneeze_strain(female: bool) -> None:
    """Stynes 2018: positive in 25.8% of back-related leg pain; Verwoerd 2016: diagnostic OR 2.28 for
    root compression. Together about 0.30 with nerve-root pain and 0.15 without: LR+ 2.0, LR- 0.82."""
    pos = implied_lr("lumbar_radicular", "worse_cough_sneeze_strain", BACK_RELATED_LEG_PAIN, age=45, female=female)
    neg = implied_lr("lumbar_radicular", "worse_cough_sneeze_strain", BACK_RELATED_LEG_PAIN, age=45, female=female,
                     present=False)
    assert 2.0 / 2 <= pos <= 2.0 * 2, pos
    assert 0.82 / 1.5 <= neg <= 1.0, neg


@pytest.mark.parametrize("female", SEXES)
def test_dermatomal_sensory_deficit(female: bool) -> None:
    """Tawa 2017 (MRI reference, people examined for radiculopathy): sensitivity 0.61, specificity
    0.63, LR+ 1.65, LR- 0.62. Referred pain without a root lesion has fewer deficits than an
    MRI-negative radiculopathy, so a factor of 2.5."""
    pos = implied_lr("lumbar_radicular", "dermatomal_sensory_loss", BACK_RELATED_LEG_PAIN, age=45, female=female)
    neg = implied_lr("lumbar_radicular", "dermatomal_sensory_loss", BACK_RELATED_LEG_PAIN, age=45, female=female,
                     present=False)
    assert 1.65 / 2.5 <= pos <= 1.65 * 2.5, pos
    assert 0.62 / 2 <= neg <= 0.62 * 1.5, neg


@pytest.mark.parametrize("present", [True, False])
def test_foot_pulses_khan_2006(present: bool) -> None:
    """Khan 2006 (symptomatic legs): any pulse abnormality LR+ 4.7, LR- 0.38. Reference case:
    calf pain at 65 (the arterial-disease age)."""
    for female in SEXES:
        lr = implied_lr("peripheral_arterial_disease", "foot_pulses_reduced", CALF, age=65, female=female,
                        present=present)
        published = 4.7 if present else 0.38
        assert published / 2 <= lr <= published * 2, lr
