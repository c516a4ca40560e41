"""Cross-file checks of the knowledge base (modelled on pgmpy's ``check_model``).

Every problem is reported as ``file: key: what is wrong``; nothing stops at the
first problem, so ``painpath kb check`` can list them all.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from painpath.domain import LEVELS_DESCENDING as LEVELS
from painpath.domain import Level, Setting

if TYPE_CHECKING:
    from painpath.kb.knowledge_base import KnowledgeBase

__all__ = ["benchmark_problems", "cross_file_problems", "evidence_stats"]

ICD10CM = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$")


def cross_file_problems(kb: KnowledgeBase) -> list[str]:
    problems: list[str] = []
    conditions = set(kb.conditions.conditions)
    findings = set(kb.findings.findings)
    sources = set(kb.sources.sources)
    grades = kb.strengths.grades

    def need_src(where: str, src: str | None) -> None:
        if src is not None and src not in sources:
            problems.append(f"{where}: unknown source id '{src}' (not in sources.yaml)")

    for key, cond in kb.conditions.conditions.items():
        for code in cond.icd10cm:
            if not ICD10CM.match(code):
                problems.append(f"conditions.yaml: {key}.icd10cm: '{code}' is not an ICD-10-CM code")
    for key, f in kb.findings.findings.items():
        if f.kind == "sign" and not f.clinician_question:
            problems.append(f"findings.yaml: {key}.clinician_question: a sign needs a clinician wording")
        if f.question.strip().upper() == "TODO":
            problems.append(f"findings.yaml: {key}.question: not written yet")

    for name, value in grades.items():
        if not 0.0 < value < 1.0:
            problems.append(f"strengths.yaml: grades.{name}: {value} is not a probability in (0, 1)")
    missing_defaults = findings - set(kb.strengths.defaults)
    for key in sorted(missing_defaults):
        problems.append(f"strengths.yaml: defaults.{key}: missing (every finding needs a default)")
    for key in sorted(set(kb.strengths.defaults) - findings):
        problems.append(f"strengths.yaml: defaults.{key}: unknown finding")
    for key, s in kb.strengths.defaults.items():
        if s.grade is not None and s.grade not in grades:
            problems.append(f"strengths.yaml: defaults.{key}.grade: unknown grade '{s.grade}'")
        need_src(f"strengths.yaml: defaults.{key}", s.src)
    for ckey, table in kb.strengths.strengths.items():
        if ckey not in conditions:
            problems.append(f"strengths.yaml: strengths.{ckey}: unknown condition")
        for key, s in table.items():
            where = f"strengths.yaml: strengths.{ckey}.{key}"
            if key not in findings:
                problems.append(f"{where}: unknown finding")
            if s.grade is not None and s.grade not in grades:
                problems.append(f"{where}.grade: unknown grade '{s.grade}'")
            need_src(where, s.src)

    prior_keys = set(kb.priors.priors)
    for key in sorted(conditions - prior_keys):
        problems.append(f"priors.yaml: priors.{key}: missing")
    for key in sorted(prior_keys - conditions):
        problems.append(f"priors.yaml: priors.{key}: unknown condition")
    for setting in (Setting.SELF.value, Setting.CLINIC.value):
        if setting not in kb.priors.settings:
            problems.append(f"priors.yaml: settings.{setting}: missing")
    for key, prior in kb.priors.priors.items():
        need_src(f"priors.yaml: priors.{key}", prior.src)
    bands = kb.priors.age_bands
    if not bands or bands[0][0] != 0 or bands[-1][1] != 120:
        problems.append("priors.yaml: age_bands: must run from 0 to 120")
    for (_lo1, hi1), (lo2, _hi2) in zip(bands, bands[1:], strict=False):
        if lo2 != hi1 + 1:
            problems.append(f"priors.yaml: age_bands: gap or overlap between {hi1} and {lo2}")
    for key, mod in kb.priors.age_modifiers.items():
        if key not in conditions:
            problems.append(f"priors.yaml: age_modifiers.{key}: unknown condition")
        if len(mod.factors) != len(bands):
            problems.append(f"priors.yaml: age_modifiers.{key}.factors: need one factor per age band ({len(bands)})")
        if any(f <= 0 for f in mod.factors):
            problems.append(f"priors.yaml: age_modifiers.{key}.factors: factors must be positive")
        if (mod.src is None) == (mod.est is None):
            problems.append(f"priors.yaml: age_modifiers.{key}: give exactly one of src or est")
        need_src(f"priors.yaml: age_modifiers.{key}", mod.src)
    for key, smod in kb.priors.sex_modifiers.items():
        if key not in conditions:
            problems.append(f"priors.yaml: sex_modifiers.{key}: unknown condition")
        if (smod.src is None) == (smod.est is None):
            problems.append(f"priors.yaml: sex_modifiers.{key}: give exactly one of src or est")
        need_src(f"priors.yaml: sex_modifiers.{key}", smod.src)

    seen: Counter[str] = Counter()
    for name, cluster in kb.dependence.clusters.items():
        for key in cluster.findings:
            seen[key] += 1
            if key not in findings:
                problems.append(f"dependence.yaml: clusters.{name}: unknown finding '{key}'")
    for key, n in seen.items():
        if n > 1:
            problems.append(f"dependence.yaml: clusters: finding '{key}' is in {n} clusters (at most one)")
    for i, imp in enumerate(kb.dependence.implications):
        where = f"dependence.yaml: implications[{i}]"
        for key in [imp.finding, *imp.if_present, *imp.if_absent]:
            if key not in findings:
                problems.append(f"{where}: unknown finding '{key}'")
        if not imp.if_present and not imp.if_absent:
            problems.append(f"{where}: needs if_present or if_absent")
        need_src(where, imp.src)

    t = kb.triage
    if tuple(t.levels) != LEVELS:
        problems.append(f"triage.yaml: levels: must be exactly {list(LEVELS)}")
    for key in sorted(conditions - set(t.condition_levels)):
        problems.append(f"triage.yaml: condition_levels.{key}: missing")
    for key in sorted(set(t.condition_levels) - conditions):
        problems.append(f"triage.yaml: condition_levels.{key}: unknown condition")
    for fl in t.floors:
        for key in [*fl.any, *fl.with_any]:
            if key not in findings:
                problems.append(f"triage.yaml: floors.{fl.id}: unknown finding '{key}'")
        need_src(f"triage.yaml: floors.{fl.id}", fl.src)
    for esc in t.escalations:
        for key in [*esc.any, *esc.while_unknown]:
            if key not in findings:
                problems.append(f"triage.yaml: escalations.{esc.id}: unknown finding '{key}'")
        for key in esc.conditions:
            if key not in conditions:
                problems.append(f"triage.yaml: escalations.{esc.id}: unknown condition '{key}'")
        need_src(f"triage.yaml: escalations.{esc.id}", esc.src)
    if t.imaging_red_flags is not None:
        for key in t.imaging_red_flags.findings:
            if key not in findings:
                problems.append(f"triage.yaml: imaging_red_flags: unknown finding '{key}'")
        need_src("triage.yaml: imaging_red_flags", t.imaging_red_flags.src)
    thresholds = [t.risk_thresholds.get(lv.value, 1.0) for lv in (Level.EMERGENCY, Level.URGENT, Level.SOON)]  # type: ignore[call-overload]  # keys are RaisedLevelName
    if thresholds != sorted(thresholds):
        problems.append("triage.yaml: risk_thresholds: a more urgent level must not need more probability")
    screen_of: Counter[str] = Counter()
    for name, screen in kb.interview.screens.items():
        for key in [*screen.findings, *screen.when_any]:
            if key not in findings:
                problems.append(f"interview.yaml: screens.{name}: unknown finding '{key}'")
        for key in screen.findings:
            screen_of[key] += 1
        kinds = {kb.findings.findings[k].kind == "sign" for k in screen.findings if k in findings}
        if (screen.phase == "exam") != (kinds == {True}):
            problems.append(f"interview.yaml: screens.{name}: exam screens hold signs only, other screens no signs")
    warning_items = {k for s in kb.interview.screens.values() if s.phase == "warning" for k in s.findings}
    for key, rule in kb.interview.relevance.items():
        if key not in warning_items:
            problems.append(f"interview.yaml: relevance.{key}: not an item of a warning screen")
        for k in [*rule.when_any, *rule.with_any]:
            if k not in findings:
                problems.append(f"interview.yaml: relevance.{key}: unknown finding '{k}'")
        if rule.src is not None:
            need_src(f"interview.yaml: relevance.{key}", rule.src)
    for key in sorted(findings):
        if screen_of[key] != 1:
            problems.append(f"interview.yaml: finding '{key}' is on {screen_of[key]} screens (exactly one needed)")
    early = {k for s in kb.interview.screens.values() if s.phase in ("presenting", "warning") for k in s.findings}
    for fl in t.floors:
        for key in fl.any:
            if key in findings and kb.findings.findings[key].kind == "sign":
                continue  # a sign comes from the examination screens, which only a clinician answers
            if key not in early:
                problems.append(f"interview.yaml: floor '{fl.id}' finding '{key}' is not on a presenting or warning screen")
    lo, hi = kb.model.clip
    if not 0.0 < lo < hi < 1.0:
        problems.append("model.yaml: clip: must satisfy 0 < low < high < 1")
    problems.extend(_other_problems(kb, findings, grades, need_src))
    return problems


def _other_problems(kb: KnowledgeBase, findings: set[str], grades: dict[str, float], need_src) -> list[str]:
    """The unlisted-cause class in model.yaml: its keys resolve and its age factors match the bands."""
    other = kb.model.other
    if other is None:
        return []
    problems: list[str] = []
    need_src("model.yaml: other.prior", other.prior.src)
    if other.age_factors is not None:
        if len(other.age_factors) != len(kb.priors.age_bands):
            problems.append(f"model.yaml: other.age_factors: needs {len(kb.priors.age_bands)} factors (one per age band)")
        if any(f <= 0 for f in other.age_factors):
            problems.append("model.yaml: other.age_factors: every factor must be > 0")
        if not other.age_factors_est:
            problems.append("model.yaml: other.age_factors_est: give the reason for the age factors")
    tables = [("model.yaml: other.strengths", other.strengths)]
    for pname, prof in other.profiles.items():
        need_src(f"model.yaml: other.profiles.{pname}", prof.src)
        tables.append((f"model.yaml: other.profiles.{pname}.strengths", prof.strengths))
    for where, table in tables:  # the class's own strengths and each profile's: the same rules
        for key, s in table.items():
            if key not in findings:
                problems.append(f"{where}.{key}: unknown finding")
            if s.grade is not None and s.grade not in grades:
                problems.append(f"{where}.{key}.grade: unknown grade '{s.grade}'")
            need_src(f"{where}.{key}", s.src)
    for esc in other.escalations:
        for key in esc.any:
            if key not in findings:
                problems.append(f"model.yaml: other.escalations.{esc.id}.any: unknown finding '{key}'")
        need_src(f"model.yaml: other.escalations.{esc.id}", esc.src)
    return problems


def benchmark_problems(kb: KnowledgeBase, benchmark_dir: str | Path) -> list[str]:
    """Check that the KB covers the benchmark vocabulary and agrees on origins and codes."""
    base = Path(benchmark_dir)
    problems: list[str] = []
    for name in ("conditions.yaml", "findings.yaml"):
        if not (base / name).is_file():
            problems.append(f"benchmark: {base / name}: file is missing")
    if problems:
        return problems
    try:
        return _coverage_problems(kb, base)
    except Exception as exc:  # noqa: BLE001 - a malformed benchmark file is a problem to list, not a crash
        first = str(exc).splitlines()[0] if str(exc) else ""
        return [f"benchmark: {base}: not a readable benchmark ({type(exc).__name__}: {first})"]


def _coverage_problems(kb: KnowledgeBase, base: Path) -> list[str]:
    problems: list[str] = []
    bconds = yaml.safe_load((base / "conditions.yaml").read_text(encoding="utf-8"))["conditions"]
    bfinds = yaml.safe_load((base / "findings.yaml").read_text(encoding="utf-8"))["findings"]
    for key, spec in bconds.items():
        cond = kb.conditions.conditions.get(key)
        if cond is None:
            problems.append(f"conditions.yaml: {key}: benchmark condition missing from the knowledge base")
            continue
        if cond.origin != spec["origin"]:
            problems.append(f"conditions.yaml: {key}.origin: '{cond.origin}' differs from the benchmark '{spec['origin']}'")
        for code in spec["icd10cm"]:
            if code not in cond.icd10cm:
                problems.append(f"conditions.yaml: {key}.icd10cm: benchmark code {code} missing")
    for key, spec in bfinds.items():
        f = kb.findings.findings.get(key)
        if f is None:
            problems.append(f"findings.yaml: {key}: benchmark finding missing from the knowledge base")
        elif f.kind != spec["kind"]:
            problems.append(f"findings.yaml: {key}.kind: '{f.kind}' differs from the benchmark '{spec['kind']}'")
    return problems


def evidence_stats(kb: KnowledgeBase) -> dict[str, object]:
    """How much of the explicitly stated evidence cites literature (defaults excluded)."""
    by_basis: Counter[str] = Counter()
    by_condition: dict[str, Counter[str]] = {}
    for cond, table in kb.strengths.strengths.items():
        c: Counter[str] = Counter()
        for s in table.values():
            by_basis[s.basis] += 1
            c[s.basis] += 1
        by_condition[cond] = c
    explicit = sum(by_basis.values())
    literature = explicit - by_basis["estimate"]
    priors = Counter("literature" if p.src else "estimate" for p in kb.priors.priors.values())
    return {
        "explicit_strengths": explicit,
        "by_basis": dict(by_basis),
        "literature_share": literature / explicit if explicit else 0.0,
        "measured_share": (by_basis["measured"] + by_basis["adapted"]) / explicit if explicit else 0.0,
        "by_condition": {k: dict(v) for k, v in by_condition.items()},
        "default_pairs": len(kb.conditions.conditions) * len(kb.findings.findings) - explicit,
        "priors": dict(priors),
        "sources": len(kb.sources.sources),
    }
