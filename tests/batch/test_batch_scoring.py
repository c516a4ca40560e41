"""Batch scoring gives what `painpath.assess` gives, case by case, in every format and encoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from painpath import Case, assess
from painpath.batch import BatchOptions, output_schema, score_file, score_frame  # noqa: E402  (after importorskip)
from painpath.engine import CompiledKB
from tests.batch.conftest import assert_same, cases_table, pl, synthetic_table, write_table

MODES = ("self", "clinician")


def assert_matches_assess(out: Any, cases: list[Case], ckb: CompiledKB, mode: str, top: int, *, all_p: bool) -> None:
    """Every output row equals painpath.assess on the same case (level, ranking, probabilities, origin)."""
    assert out.height == len(cases)
    for case, row in zip(cases, out.iter_rows(named=True), strict=True):
        a = assess(case, mode=mode, ckb=ckb)  # type: ignore[arg-type]
        assert row["id"] == case.id
        assert row["triage"] == a.triage.level, case.id
        for k, (key, prob) in enumerate(a.ranking()[:top], start=1):  # the conditions and "other"
            assert row[f"top{k}_condition"] == key, (case.id, k)
            assert row[f"top{k}_probability"] == pytest.approx(prob, abs=1e-4), (case.id, k)
        for origin, p in a.origin.items():
            assert row[f"origin_{origin}"] == pytest.approx(p, abs=1e-4), (case.id, origin)
        if all_p:
            for cond in a.conditions:
                assert row[f"p_{cond.key}"] == pytest.approx(cond.probability, abs=1e-4), (case.id, cond.key)


@pytest.mark.parametrize("mode", MODES)
def test_frame_equals_assess_on_dev_cases(mode: str, dev_cases: list[Case], dev_table: Any, ckb: CompiledKB) -> None:
    out, rejects = score_frame(dev_table, BatchOptions(mode=mode, top=len(ckb.conditions), all_probabilities=True))  # type: ignore[arg-type]
    assert rejects is None
    assert list(out.columns) == list(output_schema(BatchOptions(top=len(ckb.conditions), all_probabilities=True)))
    assert_matches_assess(out, dev_cases, ckb, mode, len(ckb.conditions), all_p=True)


@pytest.mark.parametrize("mode", MODES)
def test_every_column_or_few_columns_mean_the_same(mode: str, dev_cases: list[Case], dev_table: Any, ckb: CompiledKB) -> None:
    """Missing finding columns follow the case rules: a table with all 111 columns filled by the
    rules scores exactly like the narrow table (and in a shuffled column order)."""
    wide = cases_table(dev_cases, ckb, columns=list(ckb.findings))
    shuffled = wide.select(["sex", *reversed(ckb.findings), "age", "id"])
    opts = BatchOptions(mode=mode, top=5, all_probabilities=True)  # type: ignore[arg-type]
    narrow_out = score_frame(dev_table, opts)[0]
    assert_same(score_frame(wide, opts)[0], narrow_out)
    assert_same(score_frame(shuffled, opts)[0], narrow_out)


@pytest.mark.parametrize(("fmt_in", "fmt_out"), [("csv", "parquet"), ("parquet", "csv"), ("csv", "csv"), ("parquet", "parquet")])
@pytest.mark.parametrize("mode", MODES)
def test_files_in_and_out(fmt_in: str, fmt_out: str, mode: str, tmp_path: Path, dev_cases: list[Case], dev_table: Any,
                          ckb: CompiledKB) -> None:
    inp = write_table(dev_table, tmp_path / f"cases.{fmt_in}")
    out = tmp_path / f"scored.{fmt_out}"
    summary = score_file(inp, out, BatchOptions(mode=mode, top=3, all_probabilities=True), chunk_size=7)  # type: ignore[arg-type]
    assert (summary.rows, summary.scored, summary.rejected) == (len(dev_cases), len(dev_cases), 0)
    assert summary.chunks >= 2  # really streamed in several chunks
    result = pl.read_csv(out, schema_overrides={"id": pl.String}) if fmt_out == "csv" else pl.read_parquet(out)
    assert_matches_assess(result, dev_cases, ckb, mode, 3, all_p=True)
    assert sum(summary.levels.values()) == len(dev_cases)
    assert not list(tmp_path.glob(".*partial"))


def test_directory_and_glob_of_parquet(tmp_path: Path, ckb: CompiledKB) -> None:
    df = synthetic_table(900, ckb, seed=3)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(3):
        df.slice(i * 300, 300).write_parquet(parts / f"part-{i}.parquet")
    ref = score_frame(df, BatchOptions())[0]
    for source in (parts, str(parts / "part-*.parquet")):
        out = tmp_path / "out.parquet"
        score_file(source, out, BatchOptions(), chunk_size=250)
        assert_same(pl.read_parquet(out), ref)


def test_value_spellings(ckb: CompiledKB) -> None:
    """true/false, 1/0, yes/no in any case and spacing, and empty, mean the same as booleans."""
    keys = ["calf_pain", "low_back_pain", "fever_unwell", "slr_positive"]
    bools = [True, False, None, True, False, None]
    words = {True: ["true", " YES ", "1", "True", "yes", "TRUE"], False: ["false", "No", " 0", "FALSE", "no", "0"],
             None: [None, "", " "] * 2}
    base = {"id": [str(i) for i in range(6)], "age": [30, 40, 50, 60, 70, 80], "sex": ["female", "male"] * 3}
    as_bool = pl.DataFrame({**base, **{k: bools for k in keys}}, schema_overrides=dict.fromkeys(keys, pl.Boolean))
    as_text = pl.DataFrame({**base, **{k: [words[b][i] for i, b in enumerate(bools)] for k in keys}},
                           schema_overrides=dict.fromkeys(keys, pl.String))
    as_int = pl.DataFrame({**base, **{k: [None if b is None else int(b) for b in bools] for k in keys}},
                          schema_overrides=dict.fromkeys(keys, pl.Int8))
    as_text_age = as_text.with_columns(pl.col("age").cast(pl.String), pl.col("sex").str.to_uppercase())
    as_float_age = as_int.with_columns(pl.col("age").cast(pl.Float64), pl.col("sex").cast(pl.Categorical))
    for mode in MODES:
        opts = BatchOptions(mode=mode, all_probabilities=True)  # type: ignore[arg-type]
        ref = score_frame(as_bool, opts)[0]
        for other in (as_text, as_int, as_text_age, as_float_age):
            assert_same(score_frame(other, opts)[0], ref)


def test_no_id_column_numbers_the_rows(tmp_path: Path, ckb: CompiledKB) -> None:
    df = synthetic_table(25, ckb, seed=1, with_id=False)
    out = tmp_path / "o.csv"
    score_file(write_table(df, tmp_path / "in.parquet"), out, BatchOptions(), chunk_size=10)
    assert pl.read_csv(out, schema_overrides={"id": pl.String})["id"].to_list() == [str(i) for i in range(1, 26)]


def test_top_k_order_is_assess_order_with_ties(ckb: CompiledKB) -> None:
    """The arg-max top-k used for speed ranks exactly like a stable full sort (ties to the lower index)."""
    from painpath.batch import _top_k

    rng = np.random.default_rng(5)
    p = rng.random((500, len(ckb.conditions)))
    p[:, 3] = p[:, 7] = p.max(axis=1) + 0.1  # a tie at the top
    p[::2, 11] = p[::2, 3]
    for k in (1, 2, 3, 4, 5, len(ckb.conditions)):
        assert np.array_equal(_top_k(p, k), np.argsort(-p, axis=1, kind="stable")[:, :k])


def test_empty_input_writes_header_only(tmp_path: Path, ckb: CompiledKB) -> None:
    df = synthetic_table(5, ckb).clear()
    for ext in ("csv", "parquet"):
        out = tmp_path / f"o.{ext}"
        s = score_file(write_table(df, tmp_path / f"in.{ext}"), out, BatchOptions(top=2))
        assert s.rows == 0
        got = pl.read_csv(out) if ext == "csv" else pl.read_parquet(out)
        assert got.height == 0 and got.columns == list(output_schema(BatchOptions(top=2)))


def test_setting_option(dev_cases: list[Case], dev_table: Any, ckb: CompiledKB) -> None:
    """--setting overrides the mode's default prior, as painpath.assess(setting=...) does."""
    out = score_frame(dev_table, BatchOptions(mode="self", setting="clinic", top=1))[0]
    for case, row in zip(dev_cases, out.iter_rows(named=True), strict=True):
        a = assess(case, mode="self", setting="clinic", ckb=ckb)
        assert (row["top1_condition"], row["triage"]) == (a.top.key, a.triage.level)
        assert row["top1_probability"] == pytest.approx(a.top.probability, abs=1e-4)
