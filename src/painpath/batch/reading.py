"""Reading inputs: detect the format of a file, directory or glob, scan it lazily and stream it in chunks."""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Iterator

import polars as pl

from .schema import BatchError, Format

__all__ = ["CSV_EXT", "PARQUET_EXT", "iter_chunks", "open_input"]

PARQUET_EXT = (".parquet", ".pq")
CSV_EXT = (".csv",)


def _is_glob(s: str) -> bool:
    return any(ch in s for ch in "*?[")


def _format_of(path: str, *, what: str) -> Format:
    low = path.lower()
    if low.endswith(CSV_EXT):
        return "csv"
    if low.endswith(PARQUET_EXT):
        return "parquet"
    raise BatchError(
        f"{path}: cannot tell the {what} format from the extension (use .csv or .parquet"
        + (", or a directory or glob of Parquet files)" if what == "input" else ")")
    )


def open_input(source: str | os.PathLike[str]) -> tuple[pl.LazyFrame, Format, str]:
    """A lazy scan of the input (file, directory of Parquet files, or glob) and its format."""
    s = os.fspath(source)
    if os.path.isdir(s):
        files = sorted(_glob.glob(os.path.join(s, "**", "*.parquet"), recursive=True))
        files += sorted(_glob.glob(os.path.join(s, "**", "*.pq"), recursive=True))
        if not files:
            raise BatchError(f"{s}: directory has no Parquet files (*.parquet)")
        return pl.scan_parquet(files), "parquet", s
    if _is_glob(s):
        files = sorted(_glob.glob(s, recursive=True))
        if not files:
            raise BatchError(f"{s}: no files match")
        fmts = {_format_of(f, what="input") for f in files}
        if len(fmts) > 1:
            raise BatchError(f"{s}: matches both CSV and Parquet files")
        fmt = fmts.pop()
    else:
        if not os.path.isfile(s):
            raise BatchError(f"{s}: no such file or directory")
        fmt = _format_of(s, what="input")
        files = [s]
    if fmt == "csv":
        # every column as text, so a late "yes" in a column that started with true/false is fine
        return pl.scan_csv(files, infer_schema=False), "csv", s
    return pl.scan_parquet(files), "parquet", s


def _polars_error(where: str, exc: Exception) -> BatchError:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return BatchError(f"{where}: cannot read ({msg})")


def iter_chunks(lf: pl.LazyFrame, chunk_size: int, where: str) -> Iterator[pl.DataFrame]:
    """Stream the scan in chunks of about ``chunk_size`` rows (Polars streaming engine)."""
    try:
        it = iter(lf.collect_batches(chunk_size=chunk_size, maintain_order=True))
        while True:
            try:
                df = next(it)
            except StopIteration:
                return
            yield df
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _polars_error(where, exc) from exc
