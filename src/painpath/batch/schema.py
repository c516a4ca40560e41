"""The batch contract: options, summary, errors, the input columns and the output schema."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from painpath.assessment import _setting_for
from painpath.cases import Mode
from painpath.engine import CompiledKB, default_compiled
from painpath.engine.compiled import RANK_LEVEL
from painpath.errors import PainPathError

__all__ = [
    "AGE",
    "BatchError",
    "BatchOptions",
    "BatchSummary",
    "DEFAULT_CHUNK_SIZE",
    "Format",
    "ID",
    "LEVEL_NAMES",
    "RESERVED",
    "SEX",
    "check_columns",
    "output_schema",
]

DEFAULT_CHUNK_SIZE = 50_000
ID, AGE, SEX = "id", "age", "sex"
RESERVED = (ID, AGE, SEX)
LEVEL_NAMES = tuple(RANK_LEVEL[r] for r in range(len(RANK_LEVEL)))  # index = rank

Format = Literal["csv", "parquet"]


class BatchError(PainPathError, ValueError):
    """A batch input or output could not be used; names the file, row and column."""


@dataclass(frozen=True)
class BatchOptions:
    """What to score and what to write.

    ``top``: how many most-probable conditions to list per case. ``all_probabilities``: also
    write one ``p_<condition>`` column per condition. ``skip_invalid``: drop invalid rows
    (and report them as rejects) instead of stopping at the first one.
    """

    mode: Mode = "self"
    setting: str | None = None
    top: int = 3
    all_probabilities: bool = False
    skip_invalid: bool = False

    def validated(self, ckb: CompiledKB) -> BatchOptions:
        if self.mode not in ("self", "clinician"):
            raise BatchError(f"mode: must be 'self' or 'clinician', got {self.mode!r}")
        n = len(ckb.conditions)
        if not 1 <= self.top <= n:
            raise BatchError(f"top: must be from 1 to {n} (the number of conditions), got {self.top}")
        try:
            setting = _setting_for(self.mode, self.setting, ckb)
        except PainPathError as exc:
            raise BatchError(str(exc)) from exc
        return BatchOptions(self.mode, setting, self.top, self.all_probabilities, self.skip_invalid)


@dataclass
class BatchSummary:
    rows: int = 0
    scored: int = 0
    rejected: int = 0
    chunks: int = 0
    seconds: float = 0.0
    output: str = ""
    rejects: str | None = None
    levels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(reversed(LEVEL_NAMES), 0))

    @property
    def cases_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def check_columns(columns: Sequence[str], ckb: CompiledKB | None = None, *, where: str = "") -> None:
    """Raise BatchError naming the first unknown or duplicated column, or a missing age/sex column."""
    ckb = ckb or default_compiled()
    prefix = f"{where}: " if where else ""
    seen: set[str] = set()
    for c in columns:
        if c in seen:
            raise BatchError(f"{prefix}column '{c}' appears twice")
        seen.add(c)
    unknown = [c for c in columns if c not in RESERVED and c not in ckb.fidx]
    if unknown:
        close = difflib.get_close_matches(unknown[0], [*RESERVED, *ckb.findings], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        more = f" ({len(unknown)} unknown columns in all)" if len(unknown) > 1 else ""
        raise BatchError(
            f"{prefix}unknown column '{unknown[0]}': not id, age, sex or a finding key{hint}{more} "
            "(`painpath kb findings` lists the finding keys)"
        )
    for need in (AGE, SEX):
        if need not in seen:
            raise BatchError(f"{prefix}missing required column '{need}'")


def output_schema(options: BatchOptions = BatchOptions(), ckb: CompiledKB | None = None) -> dict[str, Any]:
    """Output column name -> Polars dtype, in order (e.g. to declare a Spark or Dask schema)."""
    ckb = ckb or default_compiled()
    out: dict[str, Any] = {ID: pl.String, "triage": pl.String}
    for k in range(1, options.top + 1):
        out[f"top{k}_condition"] = pl.String
        out[f"top{k}_probability"] = pl.Float64
    for o in ckb.origin_names:
        out[f"origin_{o}"] = pl.Float64
    if options.all_probabilities:
        for c in ckb.candidates:  # the conditions, then "other" (a cause outside them) when the KB defines it
            out[f"p_{c}"] = pl.Float64
    return out
