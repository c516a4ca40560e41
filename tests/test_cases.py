"""Reading cases (benchmark README, "Case files, exactly") and the answer rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from painpath.cases import encode, encode_many, load_case, load_cases, parse_case
from painpath.engine import default_compiled
from painpath.errors import CaseError, PainPathError

CKB = default_compiled()
GOOD: dict[str, Any] = {
    "id": "t-1",
    "age": 40,
    "sex": "female",
    "findings": {"calf_pain": True, "pain_below_knee": True, "fever_unwell": False, "smoker": None},
    "gold": {"condition": "calf_muscle_strain", "triage": "self_care", "also_acceptable": []},
}


def with_(**changes: Any) -> dict[str, Any]:
    d = json.loads(json.dumps(GOOD))
    for k, v in changes.items():
        if v is ...:
            d.pop(k, None)
        else:
            d[k] = v
    return d


def test_good_case_parses() -> None:
    c = parse_case(GOOD, CKB)
    assert c.id == "t-1"
    assert c.age == 40 and c.sex == "female"
    assert dict(c.findings) == GOOD["findings"]
    assert c.gold is not None
    assert c.gold.right_answers == ("calf_muscle_strain",)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (with_(colour="red"), "colour"),
        (with_(age=...), "age"),
        (with_(sex=...), "sex"),
        (with_(findings=...), "findings"),
        (with_(age=121), "age"),
        (with_(age=-1), "age"),
        (with_(age=40.0), "age"),
        (with_(age="40"), "age"),
        (with_(age=True), "age"),
        (with_(sex="other"), "sex"),
        (with_(sex="F"), "sex"),
        (with_(findings={"calf_pian": True}), "calf_pian"),
        (with_(findings={"calf_pain": "yes"}), "calf_pain"),
        (with_(findings={"calf_pain": 1}), "calf_pain"),
        (with_(findings=["calf_pain"]), "findings"),
        (with_(gold={"condition": "made_up_condition", "triage": "soon"}), "made_up_condition"),
        (with_(gold={"condition": "cellulitis", "triage": "asap"}), "gold.triage"),
        (with_(gold={"condition": "cellulitis"}), "gold.triage"),
        (with_(gold={"condition": "cellulitis", "triage": "urgent", "note": "x"}), "gold.note"),
        (with_(gold={"condition": "cellulitis", "triage": "urgent", "also_acceptable": ["made_up_condition"]}),
         "made_up_condition"),
        (with_(gold={"condition": "cellulitis", "triage": "urgent", "also_acceptable": "deep_vein_thrombosis"}),
         "also_acceptable"),
        ([1, 2, 3], "mapping"),
        (None, "mapping"),
    ],
)
def test_bad_case_names_the_key(data: Any, needle: str) -> None:
    with pytest.raises(CaseError) as info:
        parse_case(data, CKB, where="cases/x.yaml")
    msg = str(info.value)
    assert msg.startswith("cases/x.yaml: ")
    assert needle in msg
    assert isinstance(info.value, PainPathError)


@pytest.mark.parametrize("age", [0, 120])
def test_age_bounds_inclusive(age: int) -> None:
    assert parse_case(with_(age=age), CKB).age == age


def test_null_findings_and_optional_keys() -> None:
    c = parse_case({"age": 30, "sex": "male", "findings": None}, CKB)
    assert dict(c.findings) == {}
    assert c.gold is None
    assert c.id == "case"
    c = parse_case({**GOOD, "title": "T", "narrative": "N", "source": "S"}, CKB)
    assert c.title == "T"


def test_gold_required_only_to_score() -> None:
    assert parse_case(with_(gold=...), CKB).gold is None
    with pytest.raises(CaseError, match="gold"):
        parse_case(with_(gold=...), CKB, require_gold=True)


# --- the answer rules ----------------------------------------------------------------------


def test_encode_answer_rules() -> None:
    c = parse_case(
        {"age": 50, "sex": "male", "findings": {"calf_pain": True, "smoker": None, "slr_positive": True, "abi_below_0_9": False}},
        CKB,
    )
    clin = encode(c, CKB, "clinician")
    f = CKB.fidx
    assert clin[f["calf_pain"]] == 1
    assert clin[f["smoker"]] == 0  # null = unknown
    assert clin[f["slr_positive"]] == 1
    assert clin[f["abi_below_0_9"]] == -1
    assert clin[f["fever_unwell"]] == -1  # unlisted symptom = absent
    assert clin[f["previous_dvt"]] == -1  # unlisted history = absent
    assert clin[f["popliteal_mass"]] == 0  # unlisted sign = not examined
    self_ = encode(c, CKB, "self")
    assert np.all(self_[CKB.is_sign] == 0)  # signs hidden whatever the case says
    assert np.array_equal(self_[~CKB.is_sign], clin[~CKB.is_sign])
    kinds = {k: CKB.kb.findings.findings[k].kind for k in CKB.findings}
    assert all((kinds[k] == "sign") == bool(CKB.is_sign[i]) for i, k in enumerate(CKB.findings))


def test_encode_many_stacks() -> None:
    a = parse_case(GOOD, CKB)
    b = parse_case(with_(sex="male", age=70), CKB)
    ev, age, female = encode_many([a, b], CKB, "self")
    assert ev.shape == (2, len(CKB.findings))
    assert list(age) == [40, 70]
    assert list(female) == [True, False]
    ev0, _, _ = encode_many([], CKB, "self")
    assert ev0.shape == (0, len(CKB.findings))


# --- files and directories --------------------------------------------------------------------


def write(path: Path, data: Any) -> Path:
    if path.suffix == ".json":
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_load_case_default_id_is_file_stem(tmp_path: Path) -> None:
    p = write(tmp_path / "my-case.yaml", with_(id=...))
    assert load_case(p, CKB).id == "my-case"


def test_load_cases_order_and_selection(tmp_path: Path) -> None:
    write(tmp_path / "b.json", with_(id=...))
    write(tmp_path / "a.yml", with_(id=...))
    write(tmp_path / "c.yaml", with_(id=...))
    (tmp_path / "notes.txt").write_text("not a case", encoding="utf-8")
    sub = tmp_path / "sub"
    sub.mkdir()
    write(sub / "0.yaml", {"this": "is not read"})
    cases = load_cases(tmp_path, CKB)
    assert [c.id for c in cases] == ["a", "b", "c"]


def test_bad_file_names_file_and_key(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", GOOD)
    bad = write(tmp_path / "b.yaml", with_(findings={"calf_pain": "sometimes"}))
    with pytest.raises(CaseError) as info:
        load_cases(tmp_path, CKB)
    assert str(bad) in str(info.value)
    assert "findings.calf_pain" in str(info.value)


def test_malformed_yaml_and_json(tmp_path: Path) -> None:
    y = tmp_path / "bad.yaml"
    y.write_text("age: 40\nsex: [female\n", encoding="utf-8")
    with pytest.raises(CaseError, match="malformed YAML") as info:
        load_case(y, CKB)
    assert str(y) in str(info.value)
    j = tmp_path / "bad.json"
    j.write_text('{"age": 40,, }', encoding="utf-8")
    with pytest.raises(CaseError, match="malformed JSON") as info:
        load_case(j, CKB)
    assert str(j) in str(info.value)


def test_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="no such file"):
        load_case(tmp_path / "nope.yaml", CKB)
    with pytest.raises(CaseError, match="not a directory"):
        load_cases(tmp_path / "nope", CKB)
    with pytest.raises(CaseError, match="no case files"):
        load_cases(tmp_path, CKB)


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "latin.yaml"
    p.write_bytes(b"age: 40\nsex: male\nfindings: {}\ntitle: \xe9t\xe9\n")
    with pytest.raises(CaseError, match="UTF-8"):
        load_case(p, CKB)


def test_dev_cases_all_load(dev_dir: Path) -> None:
    cases = load_cases(dev_dir, CKB, require_gold=True)
    assert len(cases) == len(list(dev_dir.glob("*.yaml")))
    assert [c.id for c in cases] == sorted(c.id for c in cases)
