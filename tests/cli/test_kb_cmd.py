"""`painpath kb check`, `painpath kb stats` and `painpath kb findings`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from painpath.kb import evidence_stats, load_kb
from tests.conftest import run_cli


def test_kb_check_ok() -> None:
    r = run_cli("kb", "check")
    assert r.returncode == 0, r.stderr
    kb = load_kb()
    assert "OK" in r.stdout
    assert f"{len(kb.conditions.conditions)} conditions" in r.stdout
    assert f"{len(kb.findings.findings)} findings" in r.stdout


def test_kb_check_copy_path_ok(kb_copy: Path) -> None:
    r = run_cli("kb", "check", "--path", str(kb_copy))
    assert r.returncode == 0, r.stderr


def test_kb_check_broken_lists_every_problem(kb_copy: Path) -> None:
    s = kb_copy / "strengths.yaml"
    data = yaml.safe_load(s.read_text(encoding="utf-8"))
    data["defaults"].pop("calf_pain")
    data["strengths"]["cellulitis"]["imaginary_finding"] = {"p": 0.5, "est": "x"}
    s.write_text(yaml.safe_dump(data), encoding="utf-8")
    r = run_cli("kb", "check", "--path", str(kb_copy))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "strengths.yaml: defaults.calf_pain" in r.stderr
    assert "strengths.yaml: strengths.cellulitis.imaginary_finding" in r.stderr
    m = re.search(r"(\d+) problem\(s\) found", r.stderr)
    assert m is not None
    listed = [ln for ln in r.stderr.splitlines() if ln.strip() and "problem(s) found" not in ln]
    assert int(m.group(1)) == len(listed) >= 2


def test_kb_check_broken_yaml(kb_copy: Path) -> None:
    (kb_copy / "triage.yaml").write_text("floors: [\n", encoding="utf-8")
    r = run_cli("kb", "check", "--path", str(kb_copy))
    assert r.returncode == 1
    assert "triage.yaml" in r.stderr and "not valid YAML" in r.stderr


def test_kb_check_missing_directory(tmp_path: Path) -> None:
    r = run_cli("kb", "check", "--path", str(tmp_path / "nowhere"))
    assert r.returncode == 1
    assert "file is missing" in r.stderr


def test_kb_stats_prints_literature_share() -> None:
    r = run_cli("kb", "stats")
    assert r.returncode == 0, r.stderr
    share = evidence_stats(load_kb())["literature_share"]
    assert isinstance(share, float)
    m = re.search(r"With a literature source: (\d+)%", r.stdout)
    assert m is not None, r.stdout
    assert int(m.group(1)) == round(share * 100)


def test_kb_stats_json() -> None:
    r = run_cli("kb", "stats", "--json")
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d == json.loads(json.dumps(evidence_stats(load_kb())))


def test_kb_check_explicit_benchmark(bench: Path) -> None:
    r = run_cli("kb", "check", "--benchmark", str(bench))
    assert r.returncode == 0, r.stderr
    assert str(bench) in r.stdout


def test_kb_check_foreign_kb_against_benchmark(bench: Path) -> None:
    # the tiny test KB is valid on its own but covers none of the benchmark
    from tests.conftest import TINY_KB

    r = run_cli("kb", "check", "--path", str(TINY_KB), "--benchmark", str(bench))
    assert r.returncode == 1
    assert "benchmark condition missing" in r.stderr


def test_kb_check_missing_benchmark_dir(tmp_path: Path) -> None:
    r = run_cli("kb", "check", "--benchmark", str(tmp_path / "no-benchmark"))
    assert "Traceback" not in r.stderr
    assert r.returncode != 0
    assert "no-benchmark" in r.stderr


def test_kb_findings_lists_every_key_the_batch_error_points_to() -> None:
    """`painpath batch` sends users to `painpath kb findings` for the column names: it lists exactly the keys
    a case accepts, with what leaving each out means (symptoms and history absent, signs unknown)."""
    import json

    from painpath.engine import default_compiled

    ckb = default_compiled()
    r = run_cli("kb", "findings", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [x["key"] for x in rows] == list(ckb.findings)
    for x in rows:
        assert x["if_omitted"] == ("unknown" if x["kind"] == "sign" else "absent"), x
        assert bool(ckb.is_sign[ckb.fidx[x["key"]]]) == (x["kind"] == "sign")
    table = run_cli("kb", "findings")
    assert table.returncode == 0 and "calf_pain" in table.stdout and "if omitted" in table.stdout
    batch = pytest.importorskip("painpath.batch")
    with pytest.raises(batch.BatchError, match=r"`painpath kb findings` lists the finding keys"):
        batch.check_columns(["age", "sex", "calf_pian"], ckb)
