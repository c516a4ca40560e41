"""Helpers for the batch-scoring tests: dev cases as a table, synthetic tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pl = pytest.importorskip("polars", reason="the batch extra (polars, pyarrow) is not installed")
pytest.importorskip("pyarrow", reason="the batch extra (polars, pyarrow) is not installed")

from painpath import Case, load_cases  # noqa: E402
from painpath.engine import CompiledKB, default_compiled  # noqa: E402
from tests.conftest import DEV, SKIP_NO_BENCH  # noqa: E402


@pytest.fixture(scope="session")
def ckb() -> CompiledKB:
    return default_compiled()


@pytest.fixture(scope="session")
def dev_cases(ckb: CompiledKB) -> list[Case]:
    if not DEV.is_dir() or not any(DEV.glob("*.yaml")):
        pytest.skip(SKIP_NO_BENCH)
    return load_cases(DEV, ckb)


def cases_table(cases: list[Case], ckb: CompiledKB, columns: list[str] | None = None) -> Any:
    """One row per case; the table's findings are ``columns`` (default: every finding any case lists).

    A cell a case does not list follows the case rules, so the table means the same as the case:
    an unlisted symptom or history finding is written false (absent), an unlisted sign null (unknown).
    """
    keys = columns if columns is not None else sorted({k for c in cases for k in c.findings}, key=ckb.fidx.get)
    data: dict[str, list[Any]] = {"id": [c.id for c in cases], "age": [c.age for c in cases], "sex": [c.sex for c in cases]}
    for k in keys:
        default = None if ckb.is_sign[ckb.fidx[k]] else False
        data[k] = [c.findings.get(k, default) for c in cases]
    return pl.DataFrame(data, schema={"id": pl.String, "age": pl.Int64, "sex": pl.String, **dict.fromkeys(keys, pl.Boolean)})


@pytest.fixture(scope="session")
def dev_table(dev_cases: list[Case], ckb: CompiledKB) -> Any:
    return cases_table(dev_cases, ckb)


def synthetic_table(n: int, ckb: CompiledKB, seed: int = 0, *, with_id: bool = True) -> Any:
    """n random valid cases over every finding: 10% present, 70% absent, 20% null."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    if with_id:
        cols["id"] = pl.Series(np.arange(1, n + 1)).cast(pl.String)
    cols["age"] = rng.integers(0, 121, n)
    cols["sex"] = pl.Series("sex", ["male", "female"]).gather(rng.integers(0, 2, n))
    import pyarrow as pa

    r = rng.random((len(ckb.findings), n), dtype=np.float32)
    for j, key in enumerate(ckb.findings):
        cols[key] = pl.from_arrow(pa.array(r[j] < 0.1, mask=r[j] >= 0.8))
    return pl.DataFrame(cols)


def write_table(df: Any, path: Path) -> Path:
    if path.suffix == ".csv":
        df.write_csv(path)
    else:
        df.write_parquet(path)
    return path


def assert_same(left: Any, right: Any) -> None:
    """Same columns, types and values; probabilities to 1e-5 (the batch path computes in float32, and BLAS
    sums depend a little on the chunk size)."""
    from polars.testing import assert_frame_equal

    assert_frame_equal(left, right, check_exact=False, rel_tol=0, abs_tol=1e-5)
