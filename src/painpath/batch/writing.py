"""Writing outputs: append scored chunks to a CSV or Parquet file, written beside the target and moved into
place only when the whole run succeeded."""

from __future__ import annotations

import os
from typing import IO, Any

import polars as pl

from .reading import CSV_EXT, PARQUET_EXT
from .schema import ID, Format

__all__: list[str] = []


class _Sink:
    """Appends DataFrames to a CSV or Parquet file (one row group per chunk)."""

    def __init__(self, path: str, fmt: Format) -> None:
        self.path, self.fmt = path, fmt
        self._fh: IO[bytes] | None = None
        self._pq: Any = None

    def write(self, df: pl.DataFrame) -> None:
        if self.fmt == "csv":
            if self._fh is None:
                self._fh = open(self.path, "wb")  # noqa: SIM115 - closed in close()
                df.write_csv(self._fh, include_header=True)
            elif df.height:
                df.write_csv(self._fh, include_header=False)
            return
        import pyarrow.parquet as pq

        table = df.to_arrow()
        if self._pq is None:
            # dictionary pages only where values repeat (triage, condition keys); float columns
            # are near-unique, so trying a dictionary there only costs time
            repeats = [c for c in df.columns if c == "triage" or c.endswith("_condition")]
            self._pq = pq.ParquetWriter(self.path, table.schema, compression="zstd", use_dictionary=repeats,
                                        write_statistics=[ID] if ID in df.columns else False)
        if df.height or self._pq is not None:
            self._pq.write_table(table)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self._pq is not None:
            self._pq.close()

    @property
    def opened(self) -> bool:
        return self._fh is not None or self._pq is not None


def _tmp_path(path: str) -> str:
    d, base = os.path.split(os.path.abspath(path))
    return os.path.join(d, f".{base}.{os.getpid()}.partial")


def _default_rejects(out: str) -> str:
    stem = out
    for ext in (*CSV_EXT, *PARQUET_EXT):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    return f"{stem}.rejects.csv"
