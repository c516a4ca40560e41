"""`painpath batch` errors: one `error:` line naming the file, row and column; exit 2; no partial output.

A few tests run the installed console script (as the other CLI tests do); the rest invoke the
same Typer app in-process, which is much faster than starting Python and Polars each time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from painpath.batch import BatchError, BatchOptions, score_file, score_frame  # noqa: E402
from painpath.engine import CompiledKB
from tests.batch.conftest import pl, synthetic_table, write_table
from tests.conftest import run_cli


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def invoke(*args: str, cwd: Path | None = None) -> Ran:
    """Run `painpath ARGS` in-process (Typer's CliRunner); same exit codes and streams as the script."""
    from typer.testing import CliRunner

    from painpath.cli import app

    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        r = CliRunner().invoke(app, list(args))
    finally:
        os.chdir(old)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Ran(r.exit_code, r.stdout, r.stderr)


def _one_error_line(r: Any) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


@pytest.fixture
def table(ckb: CompiledKB) -> Any:
    return synthetic_table(40, ckb, seed=2)


def test_cli_scores_and_reports(tmp_path: Path, table: Any) -> None:
    inp = write_table(table, tmp_path / "cases.csv")
    out = tmp_path / "out.parquet"
    r = run_cli("batch", str(inp), str(out), "--mode", "clinician", "--top", "2", "--chunk-size", "16")
    assert r.returncode == 0, r.stderr
    assert "scored 40 of 40 cases" in r.stdout
    got = pl.read_parquet(out)
    assert got.columns[:6] == ["id", "triage", "top1_condition", "top1_probability", "top2_condition", "top2_probability"]
    assert got.height == 40


def test_cli_unknown_column(tmp_path: Path, table: Any) -> None:
    inp = write_table(table.rename({"calf_pain": "calf_pian"}), tmp_path / "cases.parquet")
    out = tmp_path / "out.csv"
    line = _one_error_line(run_cli("batch", str(inp), str(out)))
    assert "unknown column 'calf_pian'" in line and "did you mean 'calf_pain'" in line and str(inp) in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("age", 130, ["column age", "0 to 120", "got '130'"]),
        ("age", None, ["column age", "missing"]),
        ("sex", "other", ["column sex", "'female' or 'male'", "got 'other'"]),
        ("calf_pain", "maybe", ["column calf_pain", "true, false, 1, 0, yes, no or empty", "got 'maybe'"]),
        ("slr_positive", "2", ["column slr_positive", "got '2'"]),  # a sign: checked even though self mode hides it
    ],
)
def test_cli_bad_value_names_row_and_column(tmp_path: Path, table: Any, column: str, value: Any, words: list[str]) -> None:
    text = table.with_columns(pl.all().cast(pl.String))  # every column as text, so any value fits
    bad_row = 33  # 1-based: the 33rd case, in the third chunk of 16
    text = text.with_columns(pl.when(pl.int_range(pl.len()) == bad_row - 1).then(pl.lit(value, pl.String))
                             .otherwise(pl.col(column)).alias(column))
    inp = write_table(text, tmp_path / "cases.csv")
    out = tmp_path / "out.parquet"
    run = run_cli if column == "age" and value == 130 else invoke  # the console script once, in-process otherwise
    line = _one_error_line(run("batch", str(inp), str(out), "--chunk-size", "16"))
    assert f"row {bad_row}, " in line and str(inp) in line
    for w in words:
        assert w in line, line
    assert not out.exists() and not list(tmp_path.glob(".*partial"))  # the rows before were not left behind


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["missing.csv", "out.csv"], ["missing.csv", "no such file"]),
        (["cases.json", "out.csv"], ["cases.json", "extension"]),
        (["cases.csv", "out.xlsx"], ["out.xlsx", "extension"]),
        (["cases.csv", "out.csv", "--mode", "doctor"], ["--mode"]),
        (["cases.csv", "out.csv", "--setting", "ward"], ["setting", "ward"]),
        (["cases.csv", "out.csv", "--top", "0"], ["top"]),
        (["cases.csv", "out.csv", "--chunk-size", "0"], ["--chunk-size"]),
        (["cases.csv", "nodir/out.csv"], ["does not exist"]),
        (["nocols.csv", "out.csv"], ["missing required column 'age'"]),
        (["parts/*.parquet", "out.csv"], ["no files match"]),
    ],
)
def test_cli_usage_errors(tmp_path: Path, table: Any, args: list[str], words: list[str]) -> None:
    write_table(table, tmp_path / "cases.csv")
    (tmp_path / "cases.json").write_text("{}")
    write_table(table.drop("age"), tmp_path / "nocols.csv")
    line = _one_error_line(invoke("batch", *args, cwd=tmp_path))
    for w in words:
        assert w in line, line


def test_skip_invalid_writes_rejects(tmp_path: Path, table: Any) -> None:
    bad = table.with_columns(pl.col("age").cast(pl.String), pl.col("calf_pain").cast(pl.String))
    bad = bad.with_columns(
        pl.when(pl.int_range(pl.len()) == 4).then(pl.lit("old")).otherwise(pl.col("age")).alias("age"),
        pl.when(pl.int_range(pl.len()).is_in([9, 30])).then(pl.lit("sometimes"))
        .otherwise(pl.col("calf_pain")).alias("calf_pain"),
    )
    inp = write_table(bad, tmp_path / "cases.parquet")
    out = tmp_path / "out.csv"
    r = invoke("batch", str(inp), str(out), "--skip-invalid", "--chunk-size", "8")
    assert r.returncode == 0, r.stderr
    assert "rejected 3 invalid rows" in r.stdout
    rej = pl.read_csv(tmp_path / "out.rejects.csv", schema_overrides={"id": pl.String, "value": pl.String})
    assert rej.columns == ["row", "id", "column", "value", "reason"]
    assert rej["row"].to_list() == [5, 10, 31]
    assert rej["column"].to_list() == ["age", "calf_pain", "calf_pain"]
    assert rej["value"].to_list() == ["old", "sometimes", "sometimes"]
    assert rej["id"].to_list() == table["id"].gather([4, 9, 30]).to_list()
    scored = pl.read_csv(out, schema_overrides={"id": pl.String})
    assert scored.height == 37 and set(scored["id"]).isdisjoint(rej["id"])
    good = table.filter(~pl.int_range(pl.len()).is_in([4, 9, 30]))
    from tests.batch.conftest import assert_same

    assert_same(scored, score_frame(good, BatchOptions())[0])


def test_rejects_needs_skip_invalid(tmp_path: Path, table: Any) -> None:
    write_table(table, tmp_path / "cases.csv")
    line = _one_error_line(invoke("batch", "cases.csv", "o.csv", "--rejects", "r.csv", cwd=tmp_path))
    assert "--skip-invalid" in line


def test_library_errors_are_batch_errors(tmp_path: Path, table: Any) -> None:
    with pytest.raises(BatchError, match=r"row 3, column sex"):
        score_frame(table.with_columns(
            pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("x")).otherwise(pl.col("sex")).alias("sex")))
    with pytest.raises(BatchError, match="column 'age': type Boolean"):
        score_frame(table.with_columns(pl.lit(True).alias("age")))
    with pytest.raises(BatchError, match="column 'calf_pain': type Date"):
        score_frame(table.with_columns(pl.lit(None, pl.Date).alias("calf_pain").fill_null(pl.date(2020, 1, 1))))
    with pytest.raises(BatchError, match="appears twice"):
        from painpath.batch import check_columns

        check_columns(["age", "sex", "age"])
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(BatchError, match="broken.parquet: cannot read"):
        score_file(tmp_path / "broken.parquet", tmp_path / "o.csv")
