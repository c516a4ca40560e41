"""`painpath assess` and `painpath evaluate`, run as the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DEV, SKIP_NO_BENCH, run_cli

GOOD: dict[str, Any] = {
    "id": "good",
    "age": 45,
    "sex": "male",
    "findings": {"calf_pain": True, "pain_below_knee": True, "leg_pain_worse_than_back": True,
                 "onset_sudden_during_activity": True},
    "gold": {"condition": "calf_muscle_strain", "triage": "self_care"},
}


def _yaml(d: dict[str, Any]) -> str:
    return yaml.safe_dump(d, sort_keys=False)


def _changed(**kw: Any) -> str:
    d = json.loads(json.dumps(GOOD))
    d.update(kw)
    return _yaml(d)


# name -> (file name, file text, words the one-line message must contain besides the file)
BAD: dict[str, tuple[str, str, list[str]]] = {
    "malformed_yaml": ("case.yaml", "age: 45\nsex: male\nfindings: {calf_pain: true\n", ["malformed YAML"]),
    "malformed_json": ("case.json", '{"age": 45, "sex": "male", "findings": {"calf_pain": tru}}', ["malformed JSON"]),
    "unknown_top_key": ("case.yaml", _changed(weight_kg=80), ["weight_kg"]),
    "unknown_finding": ("case.yaml", _changed(findings={"calf_pian": True}), ["calf_pian"]),
    "non_boolean_finding": ("case.yaml", _changed(findings={"calf_pain": "often"}), ["calf_pain"]),
    "numeric_finding": ("case.json", json.dumps({**GOOD, "findings": {"calf_pain": 1}}), ["calf_pain"]),
    "age_out_of_range": ("case.yaml", _changed(age=130), ["age", "130"]),
    "age_not_int": ("case.yaml", _changed(age=45.5), ["age"]),
    "age_string": ("case.json", json.dumps({**GOOD, "age": "45"}), ["age"]),
    "bad_sex": ("case.yaml", _changed(sex="unknown"), ["sex"]),
    "unknown_gold_condition": ("case.yaml", _changed(gold={"condition": "made_up_condition", "triage": "soon"}),
                               ["gold.condition", "made_up_condition"]),
    "unknown_gold_key": ("case.yaml", _changed(gold={"condition": "cellulitis", "triage": "urgent", "why": "x"}), ["gold.why"]),
    "missing_findings": ("case.yaml", _yaml({"age": 45, "sex": "male"}), ["findings"]),
}


def _check_error(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error:"), lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert r.stdout.strip() == ""


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[subprocess.CompletedProcess[str], Path]]:
    """Every bad input through both commands, run concurrently (each run is a fresh process)."""
    jobs: dict[tuple[str, str], tuple[list[str], Path]] = {}
    for name, (fname, text, _needles) in BAD.items():
        d = tmp_path_factory.mktemp(name)
        (d / "a-good.yaml").write_text(_yaml(GOOD), encoding="utf-8")  # a good case before the bad one
        bad = d / f"b-{fname}"
        bad.write_text(text, encoding="utf-8")
        jobs[(name, "assess")] = (["assess", str(bad)], bad)
        jobs[(name, "evaluate")] = (["evaluate", str(d), "--json"], bad)
    empty = tmp_path_factory.mktemp("empty")
    (empty / "readme.txt").write_text("no cases here", encoding="utf-8")
    jobs[("no_cases", "evaluate")] = (["evaluate", str(empty)], empty)
    missing = empty / "does-not-exist"
    jobs[("nonexistent", "evaluate")] = (["evaluate", str(missing)], missing)
    jobs[("nonexistent", "assess")] = (["assess", str(missing / "case.yaml")], missing / "case.yaml")
    jobs[("directory", "assess")] = (["assess", str(empty)], empty)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {k: pool.submit(run_cli, *args) for k, (args, _p) in jobs.items()}
        return {k: (f.result(), jobs[k][1]) for k, f in futures.items()}


@pytest.mark.parametrize("command", ["assess", "evaluate"])
@pytest.mark.parametrize("name", list(BAD))
def test_bad_case_file(bad_runs, name: str, command: str) -> None:  # type: ignore[no-untyped-def]
    r, path = bad_runs[(name, command)]
    _check_error(r, str(path), *BAD[name][2])


def test_evaluate_directory_without_cases(bad_runs) -> None:  # type: ignore[no-untyped-def]
    r, path = bad_runs[("no_cases", "evaluate")]
    _check_error(r, str(path), "no case files")


def test_evaluate_nonexistent_directory(bad_runs) -> None:  # type: ignore[no-untyped-def]
    r, path = bad_runs[("nonexistent", "evaluate")]
    _check_error(r, str(path))


def test_assess_nonexistent_file(bad_runs) -> None:  # type: ignore[no-untyped-def]
    r, path = bad_runs[("nonexistent", "assess")]
    _check_error(r, str(path), "no such file")


def test_assess_directory_is_not_a_case(bad_runs) -> None:  # type: ignore[no-untyped-def]
    r, path = bad_runs[("directory", "assess")]
    _check_error(r, str(path))


def test_bad_mode_option(tmp_path: Path) -> None:
    case = tmp_path / "c.yaml"
    case.write_text(_yaml(GOOD), encoding="utf-8")
    _check_error(run_cli("assess", str(case), "--mode", "doctor"), "--mode")


# --- good input ------------------------------------------------------------------------------


def _dev(name: str) -> Path:
    p = DEV / name
    if not p.is_file():
        pytest.skip(SKIP_NO_BENCH)
    return p


def test_assess_prints_banner_and_conditions() -> None:
    r = run_cli("assess", str(_dev("dev-001.yaml")))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "How urgent" in out
    assert "SELF-CARE" in out  # dev-001's gold triage
    assert "Most likely causes" in out
    assert "Sciatica" in out
    assert "Where the pain comes from" in out
    assert "not a diagnosis" in out


def test_assess_emergency_banner() -> None:
    r = run_cli("assess", str(_dev("dev-028.yaml")))  # acute limb ischaemia, gold emergency
    assert r.returncode == 0, r.stderr
    assert "EMERGENCY" in r.stdout


def test_assess_json() -> None:
    r = run_cli("assess", str(_dev("dev-001.yaml")), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)  # stdout carries only JSON
    assert {"conditions", "origin", "triage"} <= set(d)
    assert d["case_id"] == "dev-001"
    assert d["mode"] == "self"
    assert d["conditions"][0]["key"] == "lumbar_radicular"
    assert sum(c["probability"] for c in d["conditions"]) == pytest.approx(1.0)
    assert set(d["origin"]) == {"back", "hip", "leg", "vascular", "systemic"}
    assert sum(d["origin"].values()) == pytest.approx(1.0)
    assert d["triage"]["level"] == "self_care"
    assert d["triage"]["reasons"]


def test_assess_clinician_mode_uses_signs(tmp_path: Path) -> None:
    case = {
        "age": 45, "sex": "male",
        "findings": {"calf_pain": True, "pain_below_knee": True, "leg_pain_worse_than_back": True, "pitting_oedema_one_leg": True,
                     "deep_vein_tenderness": True, "calf_circumference_3cm_larger": True},
    }
    p = tmp_path / "c.yaml"
    p.write_text(_yaml(case), encoding="utf-8")
    s = json.loads(run_cli("assess", str(p), "--json").stdout)
    c = json.loads(run_cli("assess", str(p), "--json", "--mode", "clinician").stdout)
    assert s["mode"] == "self" and c["mode"] == "clinician"
    dvt = lambda d: next(x["probability"] for x in d["conditions"] if x["key"] == "deep_vein_thrombosis")  # noqa: E731
    assert dvt(c) > dvt(s)  # the Wells signs only count for the clinician


def test_gold_is_not_used_for_assessing(tmp_path: Path) -> None:
    src = _dev("dev-013.yaml")
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    shutil.copy(src, a)
    data["gold"] = {"condition": "cellulitis", "triage": "emergency", "also_acceptable": ["cauda_equina"]}
    b.write_text(_yaml(data), encoding="utf-8")
    for mode in ("self", "clinician"):
        ra = json.loads(run_cli("assess", str(a), "--json", "--mode", mode).stdout)
        rb = json.loads(run_cli("assess", str(b), "--json", "--mode", mode).stdout)
        pa = {c["key"]: c["probability"] for c in ra["conditions"]}
        pb = {c["key"]: c["probability"] for c in rb["conditions"]}
        assert pa == pb
        assert ra["triage"] == rb["triage"]


METRIC_KEYS = {"n", "top1", "top3", "origin", "triage_exact", "under_triage", "over_triage", "emergency_sensitivity", "brier",
               "misses"}


def test_evaluate_json_keys() -> None:
    if not DEV.is_dir():
        pytest.skip(SKIP_NO_BENCH)
    r = run_cli("evaluate", str(DEV), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d) == {"self", "clinician"}
    n = len(list(DEV.glob("*.yaml")) + list(DEV.glob("*.yml")) + list(DEV.glob("*.json")))
    for mode in ("self", "clinician"):
        assert METRIC_KEYS <= set(d[mode])
        assert d[mode]["n"] == n
        for k in METRIC_KEYS - {"n", "misses", "emergency_sensitivity"}:
            assert 0.0 <= d[mode][k] <= 1.0
        assert isinstance(d[mode]["misses"], list)


def test_evaluate_single_mode_and_table() -> None:
    if not DEV.is_dir():
        pytest.skip(SKIP_NO_BENCH)
    r = run_cli("evaluate", str(DEV), "--json", "--mode", "clinician")
    assert set(json.loads(r.stdout)) == {"clinician"}
    t = run_cli("evaluate", str(DEV), "--mode", "self")
    assert t.returncode == 0
    assert "top1" in t.stdout and "brier" in t.stdout


def test_evaluate_scores_a_wrong_gold_as_a_miss(tmp_path: Path) -> None:
    # dev-001 is a clear sciatica (self_care); labelled as an emergency cellulitis every figure flips
    data = yaml.safe_load(_dev("dev-001.yaml").read_text(encoding="utf-8"))
    data["gold"] = {"condition": "cellulitis", "triage": "emergency"}
    (tmp_path / "x.yaml").write_text(_yaml(data), encoding="utf-8")
    r = run_cli("evaluate", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr  # an evaluation that ran exits 0 whatever its figures
    d = json.loads(r.stdout)
    for mode in ("self", "clinician"):
        m = d[mode]
        assert m["n"] == 1
        assert m["top1"] == 0.0 and m["top3"] == 0.0 and m["origin"] == 0.0
        assert m["triage_exact"] == 0.0 and m["under_triage"] == 1.0 and m["over_triage"] == 0.0
        assert m["emergency_sensitivity"] == 0.0
        assert m["brier"] > 0.9
        (miss,) = m["misses"]
        assert set(miss) == {"id", "gold", "gold_triage", "predicted_top3", "predicted_triage"}
        assert miss["id"] == "dev-001"
        assert miss["gold"] == "cellulitis" and miss["gold_triage"] == "emergency"
        assert miss["predicted_top3"][0][0] == "lumbar_radicular"
        assert len(miss["predicted_top3"]) == 3 and all(len(x) == 2 for x in miss["predicted_top3"])
        assert miss["predicted_triage"] == "self_care"


def test_evaluate_needs_gold(tmp_path: Path) -> None:
    d = json.loads(json.dumps(GOOD))
    d.pop("gold")
    (tmp_path / "c.yaml").write_text(_yaml(d), encoding="utf-8")
    _check_error(run_cli("evaluate", str(tmp_path)), "gold")
    # but assessing does not need it
    assert run_cli("assess", str(tmp_path / "c.yaml"), "--json").returncode == 0


def test_evaluate_interview_json() -> None:
    if not DEV.is_dir():
        pytest.skip(SKIP_NO_BENCH)
    r = run_cli("evaluate", str(DEV), "--json", "--interview", "--mode", "self")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)["self"]
    assert METRIC_KEYS | {"questions_median", "questions_p90", "questions_max", "agreement_top1", "agreement_triage"} <= set(d)
    assert d["questions_max"] >= d["questions_p90"] >= d["questions_median"] >= 0


def test_assess_json_carries_the_care_plan_for_the_seed_calf_strain() -> None:
    if not DEV.is_dir():
        pytest.skip(SKIP_NO_BENCH)
    r = run_cli("assess", str(DEV / "dev-013.yaml"), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    plan = out["care_plan"]
    assert plan["level"] == out["triage"]["level"] == "self_care"
    assert plan["exercises"], "a self-care calf strain plan carries exercises"


def test_assess_prints_the_plan_section() -> None:
    if not DEV.is_dir():
        pytest.skip(SKIP_NO_BENCH)
    r = run_cli("assess", str(DEV / "dev-020.yaml"))
    assert r.returncode == 0, r.stderr
    assert "What to do" in r.stdout
