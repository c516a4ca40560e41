"""The Dask path maps the same scoring function over partitions and gives the Polars path's result."""

from __future__ import annotations

from pathlib import Path

import pytest

from painpath.engine import CompiledKB
from tests.batch.conftest import assert_same, pl, synthetic_table

dask = pytest.importorskip("dask", reason="dask[dataframe] (batch extra) is not installed")
dd = pytest.importorskip("dask.dataframe")

from painpath.batch import BatchError, BatchOptions, score_dask, score_file  # noqa: E402

# dask's own Parquet reader calls a pandas API that pandas 3.1 deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory, ckb: CompiledKB) -> Path:
    d = tmp_path_factory.mktemp("parts")
    df = synthetic_table(3000, ckb, seed=9)
    for i in range(3):
        df.slice(i * 1000, 1000).write_parquet(d / f"part-{i}.parquet", row_group_size=400)
    return d


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
@pytest.mark.parametrize("mode", ["self", "clinician"])
def test_dask_equals_polars(parts: Path, tmp_path: Path, scheduler: str, mode: str) -> None:
    opts = BatchOptions(mode=mode, top=4, all_probabilities=True)  # type: ignore[arg-type]
    out = tmp_path / "polars.parquet"
    score_file(parts, out, opts, chunk_size=700)
    ddf = score_dask(str(parts), opts, chunk_size=300)
    assert ddf.npartitions >= 3
    with dask.config.set(scheduler=scheduler):
        got = ddf.compute()
    assert_same(pl.from_pandas(got.reset_index(drop=True)), pl.read_parquet(out))


def test_dask_from_a_dataframe_and_kwargs(ckb: CompiledKB) -> None:
    df = synthetic_table(500, ckb, seed=4)
    ddf = dd.from_pandas(df.to_pandas(use_pyarrow_extension_array=True), npartitions=4)
    with dask.config.set(scheduler="synchronous"):
        got = score_dask(ddf, mode="clinician", top=2).compute()
    from painpath.batch import score_frame

    assert_same(pl.from_pandas(got.reset_index(drop=True)), score_frame(df, BatchOptions(mode="clinician", top=2))[0])
    assert list(got.index) == list(range(500))  # partition index kept


def test_dask_errors(ckb: CompiledKB) -> None:
    df = synthetic_table(200, ckb, seed=5).with_columns(pl.col("age").cast(pl.String))
    with pytest.raises(BatchError, match="unknown column 'knee'"):
        score_dask(dd.from_pandas(df.with_columns(pl.lit(True).alias("knee")).to_pandas(), npartitions=2))
    bad = df.with_columns(pl.when(pl.int_range(pl.len()) == 150).then(pl.lit("x")).otherwise(pl.col("age")).alias("age"))
    ddf = dd.from_pandas(bad.to_pandas(use_pyarrow_extension_array=True), npartitions=2)
    with dask.config.set(scheduler="synchronous"), pytest.raises(BatchError, match=r"partition 1 row 51, column age"):
        score_dask(ddf).compute()
    with dask.config.set(scheduler="synchronous"):
        kept = score_dask(ddf, skip_invalid=True).compute()
    assert len(kept) == 199 and 150 not in kept.index
