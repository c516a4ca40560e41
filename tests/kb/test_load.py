"""Loading and validating the knowledge base: the shipped KB and deliberately broken copies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from painpath.errors import KnowledgeBaseError, PainPathError
from painpath.kb import KnowledgeBase, benchmark_problems, cross_file_problems, default_kb, evidence_stats, load_kb
from tests.conftest import TINY_KB


def _edit(directory: Path, fname: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = directory / fname
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _problems(directory: Path) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(directory)
    assert info.value.problems, "a KnowledgeBaseError must list its problems"
    return info.value.problems


def _first_sourced(data: dict[str, Any], condition: str) -> str:
    return next(k for k, s in data["strengths"][condition].items() if s.get("src"))


# --- the shipped knowledge base ------------------------------------------------------------


def test_shipped_kb_loads_and_passes_cross_file_checks() -> None:
    kb = load_kb()
    assert isinstance(kb, KnowledgeBase)
    assert cross_file_problems(kb) == []
    assert len(kb.condition_keys) >= 19
    assert kb.levels == ("emergency", "urgent", "soon", "self_care")


def test_default_kb_is_cached_and_equal_to_a_fresh_load() -> None:
    assert default_kb() is default_kb()
    assert default_kb().version == load_kb().version


def test_shipped_copy_loads_from_a_path(kb_copy: Path) -> None:
    kb = load_kb(kb_copy)
    assert kb.version == load_kb().version  # version is a content hash: same files, same version
    assert kb.path == str(kb_copy)


def test_version_changes_with_content(kb_copy: Path) -> None:
    before = load_kb(kb_copy).version
    _edit(kb_copy, "model.yaml", lambda d: d.update(temperature=1.5))
    assert load_kb(kb_copy).version != before


def test_every_strength_resolves_to_a_probability() -> None:
    kb = default_kb()
    for c in kb.condition_keys:
        for f in kb.finding_keys:
            p, entry, explicit = kb.strength(c, f)
            assert 0.0 < p < 1.0
            assert explicit == (f in kb.strengths.strengths.get(c, {}))
            assert (entry.src is None) != (entry.est is None)


def test_benchmark_problems_report_nothing(bench: Path) -> None:
    assert benchmark_problems(default_kb(), bench) == []


def test_benchmark_problems_detect_a_foreign_kb(bench: Path) -> None:
    # The tiny test KB knows none of the benchmark's conditions or findings.
    problems = benchmark_problems(load_kb(TINY_KB), bench)
    assert any("conditions.yaml: lumbar_radicular" in p for p in problems)
    assert any("findings.yaml: low_back_pain" in p for p in problems)


def test_condition_order_matches_the_benchmark_taxonomy(bench: Path) -> None:
    # README: ties in the ranking are broken by the order of conditions.yaml; the
    # scorer breaks ties by the KB order, so the two orders must agree.
    taxonomy = list(yaml.safe_load((bench / "conditions.yaml").read_text(encoding="utf-8"))["conditions"])
    assert default_kb().condition_keys == taxonomy


def test_location_group_matches_the_benchmark(bench: Path) -> None:
    bf = yaml.safe_load((bench / "findings.yaml").read_text(encoding="utf-8"))["findings"]
    kb = default_kb()
    bench_location = {k for k, v in bf.items() if v["group"] == "location"}
    kb_location = {k for k, f in kb.findings.findings.items() if f.group == "location"}
    assert kb_location == bench_location
    # and those are exactly the findings of the presenting screen
    presenting = {k for s in kb.interview.screens.values() if s.phase == "presenting" for k in s.findings}
    assert presenting == bench_location


# --- broken copies ---------------------------------------------------------------------------


def test_unknown_source_id(kb_copy: Path) -> None:
    key = {}

    def change(d: dict[str, Any]) -> None:
        key["f"] = _first_sourced(d, "lumbar_radicular")
        d["strengths"]["lumbar_radicular"][key["f"]]["src"] = "no_such_source_2024"

    _edit(kb_copy, "strengths.yaml", change)
    problems = _problems(kb_copy)
    hits = [p for p in problems if "no_such_source_2024" in p]
    assert len(hits) == 1
    assert hits[0].startswith("strengths.yaml:")
    assert f"lumbar_radicular.{key['f']}" in hits[0]
    assert "unknown source" in hits[0]


def test_unknown_source_id_in_priors(kb_copy: Path) -> None:
    _edit(kb_copy, "priors.yaml", lambda d: d["priors"]["lumbar_radicular"].update(src="nowhere_1999"))
    problems = _problems(kb_copy)
    assert any(p.startswith("priors.yaml:") and "lumbar_radicular" in p and "nowhere_1999" in p for p in problems)


def test_unknown_finding_in_strengths(kb_copy: Path) -> None:
    _edit(
        kb_copy,
        "strengths.yaml",
        lambda d: d["strengths"]["cellulitis"].update(made_up_finding={"p": 0.5, "est": "test"}),
    )
    problems = _problems(kb_copy)
    assert any(
        p.startswith("strengths.yaml:") and "cellulitis.made_up_finding" in p and "unknown finding" in p for p in problems
    ), problems


def test_unknown_condition_in_strengths(kb_copy: Path) -> None:
    _edit(kb_copy, "strengths.yaml", lambda d: d["strengths"].update(made_up_condition={"calf_pain": {"p": 0.5, "est": "test"}}))
    problems = _problems(kb_copy)
    assert any(p.startswith("strengths.yaml:") and "made_up_condition" in p and "unknown condition" in p for p in problems)


def test_missing_default(kb_copy: Path) -> None:
    _edit(kb_copy, "strengths.yaml", lambda d: d["defaults"].pop("calf_pain"))
    problems = _problems(kb_copy)
    assert any(p.startswith("strengths.yaml:") and "defaults.calf_pain" in p and "missing" in p for p in problems)


def test_malformed_yaml(kb_copy: Path) -> None:
    (kb_copy / "dependence.yaml").write_text("implications: [\n  {finding: calf_pain\nclusters: {\n", encoding="utf-8")
    problems = _problems(kb_copy)
    assert len(problems) == 1
    assert problems[0].startswith("dependence.yaml:")
    assert "line" in problems[0] and "not valid YAML" in problems[0]


def test_missing_file(kb_copy: Path) -> None:
    (kb_copy / "model.yaml").unlink()
    problems = _problems(kb_copy)
    assert problems == ["model.yaml: file is missing"]


def test_finding_on_two_screens(kb_copy: Path) -> None:
    _edit(kb_copy, "interview.yaml", lambda d: d["screens"]["nerve_quality"]["findings"].append("calf_pain"))
    problems = _problems(kb_copy)
    hits = [p for p in problems if "calf_pain" in p]
    assert hits and all(p.startswith("interview.yaml:") for p in hits)
    assert any("2 screens" in p for p in hits)


def test_finding_on_no_screen(kb_copy: Path) -> None:
    def move(d: dict[str, Any]) -> None:
        d["screens"]["vascular_risk"]["findings"].remove("smoker")
        d["screens"]["immune"]["findings"].append("smoker")

    _edit(kb_copy, "interview.yaml", move)
    # moving a finding to another screen is fine ...
    load_kb(kb_copy)
    _edit(kb_copy, "interview.yaml", lambda d: d["screens"]["immune"]["findings"].remove("smoker"))
    # ... dropping it from every screen is not
    problems = _problems(kb_copy)
    assert any(p.startswith("interview.yaml:") and "'smoker'" in p and "0 screens" in p for p in problems)


def test_floor_finding_must_be_asked_early(kb_copy: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["screens"]["warning_limb"]["findings"].remove("leg_cold_pale")
        d["screens"]["local_signs"]["findings"].append("leg_cold_pale")

    _edit(kb_copy, "interview.yaml", change)
    problems = _problems(kb_copy)
    assert any(p.startswith("interview.yaml:") and "cold_pale_leg" in p and "leg_cold_pale" in p for p in problems)


@pytest.mark.parametrize("bad", [1.5, 0.0, -0.2, 1.0])
def test_probability_outside_open_unit_interval(kb_copy: Path, bad: float) -> None:
    key = {}

    def change(d: dict[str, Any]) -> None:
        f, entry = next((k, s) for k, s in d["strengths"]["lumbar_stenosis"].items() if "p" in s)
        key["f"] = f
        entry["p"] = bad

    _edit(kb_copy, "strengths.yaml", change)
    problems = _problems(kb_copy)
    assert any(p.startswith("strengths.yaml:") and f"strengths.lumbar_stenosis.{key['f']}.p" in p for p in problems), problems


def test_default_probability_outside_unit_interval(kb_copy: Path) -> None:
    _edit(kb_copy, "strengths.yaml", lambda d: d["defaults"]["foot_pain"].update(p=2.0))
    problems = _problems(kb_copy)
    assert any(p.startswith("strengths.yaml:") and "defaults.foot_pain.p" in p for p in problems)


def test_grade_outside_unit_interval(kb_copy: Path) -> None:
    _edit(kb_copy, "strengths.yaml", lambda d: d["grades"].update(defining=1.2))
    problems = _problems(kb_copy)
    assert any(p.startswith("strengths.yaml:") and "grades.defining" in p for p in problems)


def test_strength_with_both_src_and_est(kb_copy: Path) -> None:
    key = {}

    def change(d: dict[str, Any]) -> None:
        key["f"] = _first_sourced(d, "deep_vein_thrombosis")
        d["strengths"]["deep_vein_thrombosis"][key["f"]]["est"] = "also an estimate"

    _edit(kb_copy, "strengths.yaml", change)
    problems = _problems(kb_copy)
    hits = [p for p in problems if f"deep_vein_thrombosis.{key['f']}" in p]
    assert hits and hits[0].startswith("strengths.yaml:")
    assert "src" in hits[0] and "est" in hits[0]


def test_strength_with_neither_p_nor_grade(kb_copy: Path) -> None:
    _edit(kb_copy, "strengths.yaml", lambda d: d["defaults"].update(foot_pain={"est": "no value"}))
    problems = _problems(kb_copy)
    assert any(p.startswith("strengths.yaml:") and "defaults.foot_pain" in p for p in problems)


def test_unknown_key_in_a_file_is_rejected(kb_copy: Path) -> None:
    _edit(kb_copy, "model.yaml", lambda d: d.update(learning_rate=0.1))
    problems = _problems(kb_copy)
    assert any(p.startswith("model.yaml:") and "learning_rate" in p for p in problems)


def test_every_problem_is_listed_not_just_the_first(kb_copy: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["defaults"].pop("foot_pain")
        d["strengths"]["cellulitis"]["imaginary"] = {"p": 0.3, "est": "x"}

    _edit(kb_copy, "strengths.yaml", change)
    _edit(kb_copy, "priors.yaml", lambda d: d["priors"].pop("cellulitis"))
    problems = _problems(kb_copy)
    assert any("defaults.foot_pain" in p for p in problems)
    assert any("cellulitis.imaginary" in p for p in problems)
    assert any(p.startswith("priors.yaml:") and "priors.cellulitis" in p for p in problems)


def test_schema_errors_in_several_files_are_all_listed(kb_copy: Path) -> None:
    _edit(kb_copy, "model.yaml", lambda d: d.update(temperature=-1))
    (kb_copy / "triage.yaml").write_text("levels: [\n", encoding="utf-8")
    problems = _problems(kb_copy)
    assert any(p.startswith("model.yaml:") and "temperature" in p for p in problems)
    assert any(p.startswith("triage.yaml:") for p in problems)


def test_kb_error_is_a_painpath_error(kb_copy: Path) -> None:
    (kb_copy / "model.yaml").unlink()
    with pytest.raises(PainPathError, match="model.yaml"):
        load_kb(kb_copy)


def test_check_false_skips_cross_file_checks(kb_copy: Path) -> None:
    _edit(kb_copy, "strengths.yaml", lambda d: d["defaults"].pop("calf_pain"))
    kb = load_kb(kb_copy, check=False)
    assert any("defaults.calf_pain" in p for p in cross_file_problems(kb))


def test_age_bands_must_cover_0_to_120(kb_copy: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["age_bands"][-1] = [70, 110]

    _edit(kb_copy, "priors.yaml", change)
    problems = _problems(kb_copy)
    assert any(p.startswith("priors.yaml:") and "age_bands" in p for p in problems)


# --- evidence statistics on the tiny hand-built KB ------------------------------------------


def test_evidence_stats_on_tiny_kb() -> None:
    # tests/data/tiny_kb/strengths.yaml states 10 strengths explicitly:
    #   cond_a: f_back p+src (measured), f_numb p+src+adapted (adapted),
    #           f_legworse, f_tingle, f_weak, f_drop p+est (4 estimates)
    #   cond_b: f_calf, f_sign grade+src (2 described)
    #   cond_e: f_cold, f_calf p+est (2 estimates)
    s = evidence_stats(load_kb(TINY_KB))
    assert s["explicit_strengths"] == 10
    assert s["by_basis"] == {"measured": 1, "adapted": 1, "described": 2, "estimate": 6}
    assert s["literature_share"] == pytest.approx(4 / 10)  # measured + adapted + described
    assert s["measured_share"] == pytest.approx(2 / 10)  # measured + adapted
    assert s["by_condition"] == {
        "cond_a": {"measured": 1, "adapted": 1, "estimate": 4},
        "cond_b": {"described": 2},
        "cond_e": {"estimate": 2},
    }
    assert s["default_pairs"] == 3 * 9 - 10
    assert s["priors"] == {"literature": 1, "estimate": 2}
    assert s["sources"] == 2


def test_evidence_stats_follow_an_edit(tiny_copy: Path) -> None:
    # turning one estimate into a measured figure moves one count across
    _edit(tiny_copy, "strengths.yaml", lambda d: d["strengths"]["cond_e"]["f_calf"].update(src="s_one", est=None))
    s = evidence_stats(load_kb(tiny_copy))
    assert s["by_basis"] == {"measured": 2, "adapted": 1, "described": 2, "estimate": 5}
    assert s["literature_share"] == pytest.approx(5 / 10)


def test_evidence_stats_shipped_kb_is_consistent() -> None:
    kb = default_kb()
    s = evidence_stats(kb)
    by = s["by_basis"]
    assert isinstance(by, dict)
    assert sum(by.values()) == s["explicit_strengths"]
    explicit = sum(len(t) for t in kb.strengths.strengths.values())
    assert s["explicit_strengths"] == explicit
    assert s["literature_share"] == pytest.approx((explicit - by.get("estimate", 0)) / explicit)
    assert s["default_pairs"] == len(kb.condition_keys) * len(kb.finding_keys) - explicit


def test_other_escalation_age_bounds_are_checked(kb_copy: Path) -> None:
    """An escalation of "other" needs a trigger, and its age bounds must be in order: both problems named."""

    def change(d: dict[str, Any]) -> None:
        escs = d["other"]["escalations"]
        child = next(e for e in escs if e["id"] == "other_child_unexplained")
        child["min_age"] = 20  # above its max_age 15
        older = next(e for e in escs if e["id"] == "other_older_unexplained")
        del older["min_age"]  # no findings, no age: nothing would ever trigger it

    _edit(kb_copy, "model.yaml", change)
    problems = "\n".join(_problems(kb_copy))
    assert "min_age" in problems and "max_age" in problems
    assert "give `any` (findings), `min_age` or `max_age`" in problems
