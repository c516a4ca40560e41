"""The Dask path: the same :func:`score_frame` mapped over the partitions of a ``dask.dataframe``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from painpath.engine import CompiledKB, default_compiled

from .schema import DEFAULT_CHUNK_SIZE, BatchOptions, check_columns
from .scoring import score_frame

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

__all__ = ["score_dask"]


def _score_partition(pdf: pd.DataFrame, options: BatchOptions, ckb: CompiledKB | None = None,
                     chunk_size: int = DEFAULT_CHUNK_SIZE,
                     partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    """The Dask partition function: pandas -> Polars -> :func:`score_frame` (in slices) -> pandas.

    Slicing bounds a task's working memory by ``chunk_size`` rows whatever the partition size.
    The result keeps the partition's index (less any rows dropped by ``skip_invalid``).
    """
    number = partition_info["number"] if partition_info else 0
    df = pl.from_pandas(pdf)
    parts: list[pl.DataFrame] = []
    dropped: list[np.ndarray] = []
    for start in range(0, max(df.height, 1), chunk_size):
        piece = df.slice(start, chunk_size)
        scored, rej = score_frame(piece, options, ckb=ckb, first_row=start + 1,
                                  row_label=f"partition {number} row")
        parts.append(scored)
        if rej is not None:
            dropped.append(rej.get_column("row").to_numpy() - 1)
    result = (pl.concat(parts) if len(parts) > 1 else parts[0]).to_pandas()
    if dropped:
        keep = np.ones(len(pdf), dtype=bool)
        keep[np.concatenate(dropped)] = False
        result.index = pdf.index[keep]
    else:
        result.index = pdf.index
    return result


def score_dask(
    source: str | os.PathLike[str] | Sequence[str] | dd.DataFrame,
    options: BatchOptions | None = None,
    *,
    ckb: CompiledKB | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    split_row_groups: bool | str = True,
    **kwargs: Any,
) -> dd.DataFrame:
    """Score a Dask DataFrame (or Parquet file/directory/glob read with ``dd.read_parquet``), lazily.

    Every partition goes through the same :func:`score_frame` as ``painpath batch``. Returns a
    Dask DataFrame with the columns of :func:`output_schema`; nothing runs until you call
    ``.compute()``, ``.to_parquet(...)`` etc., on whatever scheduler is active (threads by
    default; a ``dask.distributed.Client`` if one exists). ``kwargs`` build the
    :class:`BatchOptions` (``mode=``, ``setting=``, ``top=``, ``all_probabilities=``,
    ``skip_invalid=``) when ``options`` is not given. Invalid rows raise :class:`BatchError`
    naming the partition and row within it (with ``skip_invalid`` they are dropped). Each task
    scores its partition ``chunk_size`` rows at a time, so a task's memory stays bounded; for
    parallelism, have more partitions than workers: a path is read with
    ``dd.read_parquet(..., split_row_groups=True)``, one partition per row group.
    """
    import dask.dataframe as dd

    ckb_ = ckb or default_compiled()
    opts = (options or BatchOptions(**kwargs)).validated(ckb_)
    if isinstance(source, str | os.PathLike) or (isinstance(source, list | tuple)):
        paths = [os.fspath(p) for p in source] if isinstance(source, list | tuple) else os.fspath(source)
        ddf = dd.read_parquet(paths, dtype_backend="pyarrow", split_row_groups=split_row_groups)
    else:
        ddf = source
    check_columns([str(c) for c in ddf.columns], ckb_)
    empty = pl.from_pandas(ddf._meta)
    meta = score_frame(empty, opts, ckb=ckb_)[0].to_pandas()
    return ddf.map_partitions(_score_partition, opts, ckb, chunk_size, meta=meta, enforce_metadata=False)
