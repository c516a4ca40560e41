"""Score tables of cases in bulk: CSV or Parquet in, CSV or Parquet out, streamed in chunks.

One case per row. Columns: ``id`` (optional), ``age`` (whole years, 0 to 120), ``sex``
(``female``/``male``) and one column per finding key holding true / false / empty (also
1 / 0 / yes / no, any case). The answer rules are those of :mod:`painpath.cases`: a
symptom or history column the table does not have is absent, a sign column it does not
have is unknown, an empty (null) cell is unknown, and in ``self`` mode signs are hidden.

One pure function, :func:`score_frame`, turns a Polars DataFrame of input rows into a
DataFrame of results. Both paths use it:

* :func:`score_file` (``painpath batch``) streams the input with Polars
  (``LazyFrame.collect_batches``) and appends each scored chunk to the output, so memory
  stays flat whatever the input size;
* :func:`score_dask` maps it over the partitions of a ``dask.dataframe`` (Parquet), for a
  local scheduler or a ``dask.distributed`` cluster.

Needs the ``batch`` extra: ``pip install 'painpath[batch]'`` (polars, pyarrow; dask for
:func:`score_dask`).
"""

from __future__ import annotations

import difflib
import glob as _glob
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np

from painpath.assessment import _setting_for, assess_arrays
from painpath.cases import Mode
from painpath.engine import CompiledKB, default_compiled
from painpath.engine.compiled import RANK_LEVEL
from painpath.errors import PainPathError

try:
    import polars as pl
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("painpath.batch needs Polars and PyArrow: pip install 'painpath[batch]'") from _exc

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

__all__ = [
    "BatchError",
    "BatchOptions",
    "BatchSummary",
    "DEFAULT_CHUNK_SIZE",
    "check_columns",
    "output_schema",
    "score_dask",
    "score_file",
    "score_frame",
    "tune_allocator",
]

DEFAULT_CHUNK_SIZE = 50_000
ID, AGE, SEX = "id", "age", "sex"
RESERVED = (ID, AGE, SEX)
LEVEL_NAMES = tuple(RANK_LEVEL[r] for r in range(len(RANK_LEVEL)))  # index = rank
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")
_WORD_CODE = {**{w: 1 for w in TRUE_WORDS}, **{w: -1 for w in FALSE_WORDS}, "": 0}
# the usual spellings exactly as written: one hash lookup per cell, no string copies; a cell that
# misses (odd case, spaces) is retried with strip + lowercase, only in the columns that need it
_EXACT_CODE = {v: code for w, code in _WORD_CODE.items() for v in {w, w.upper(), w.capitalize()}}
_BAD = 99  # sentinel code of an invalid finding or sex value
FINDING_RULE = "must be true, false, 1, 0, yes, no or empty"
AGE_RULE = "must be a whole number of years from 0 to 120"
SEX_RULE = "must be 'female' or 'male'"
REJECT_COLUMNS = ("row", "id", "column", "value", "reason")

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


# --------------------------------------------------------------------------------------------
# columns and output schema


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


# --------------------------------------------------------------------------------------------
# the pure scoring function


def _finding_expr(name: str, dtype: Any, *, exact: bool = False) -> pl.Expr:
    """Int8 code of one finding column: 1 present, -1 absent, 0 unknown, 99 invalid.

    ``exact``: for a text column, match the usual spellings only as written (fast); a cell
    coded 99 must then be retried with the full expression.
    """
    c = pl.col(name)
    one, minus, zero, bad = (pl.lit(v, pl.Int8) for v in (1, -1, 0, _BAD))
    if dtype == pl.Boolean:
        return (c.cast(pl.Int8) * 2 - 1).fill_null(0).cast(pl.Int8)
    if dtype == pl.Null:
        return zero
    if dtype.is_integer() or dtype.is_float():
        return pl.when(c.is_null()).then(zero).when(c == 1).then(one).when(c == 0).then(minus).otherwise(bad)
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        if exact:
            coded = c.cast(pl.String).replace_strict(_EXACT_CODE, default=bad, return_dtype=pl.Int8)
        else:
            words = c.cast(pl.String).str.strip_chars().str.to_lowercase()
            coded = words.replace_strict(_WORD_CODE, default=bad, return_dtype=pl.Int8)
        return pl.when(c.is_null()).then(zero).otherwise(coded)
    raise BatchError(
        f"column '{name}': type {dtype} cannot hold true/false answers (use boolean, 1/0 or text)"
    )


def _age_expr(dtype: Any) -> pl.Expr:
    """Int16 age, or -1 when missing or invalid."""
    c = pl.col(AGE)
    if dtype.is_integer():
        v = c.cast(pl.Int64, strict=False)
    elif dtype.is_float():
        v = pl.when(c.is_finite() & (c == c.floor())).then(c).cast(pl.Int64, strict=False)
    elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        v = c.cast(pl.String).str.strip_chars().cast(pl.Int64, strict=False)
    elif dtype == pl.Null:
        v = pl.lit(None, pl.Int64)
    else:
        raise BatchError(f"column 'age': type {dtype} cannot hold ages ({AGE_RULE})")
    return pl.when(v.is_between(0, 120)).then(v).otherwise(-1).cast(pl.Int16)


def _sex_expr(dtype: Any) -> pl.Expr:
    """Int8: 1 female, 0 male, 99 invalid or missing."""
    if dtype == pl.Null:
        return pl.lit(_BAD, pl.Int8)
    words = pl.col(SEX).cast(pl.String).str.strip_chars().str.to_lowercase()
    return words.replace_strict({"female": 1, "male": 0}, default=_BAD, return_dtype=pl.Int8)


@dataclass(frozen=True)
class _Plan:
    """How to encode a table with a given schema (built once per input schema, reused per chunk)."""

    exprs: tuple[pl.Expr, ...]  # age, sex, then every finding in ckb.findings order
    finding_names: tuple[str, ...]  # the finding columns the table has, in table order
    has_id: bool
    retry: dict[int, pl.Expr]  # ckb finding index -> full expression, for text columns coded exactly


def _plan(schema: Any, ckb: CompiledKB, mode: Mode) -> _Plan:
    names = list(schema.keys()) if hasattr(schema, "keys") else list(schema)
    check_columns(names, ckb)
    listed = tuple(c for c in names if c not in RESERVED)
    exprs = [_age_expr(schema[AGE]).alias("__age"), _sex_expr(schema[SEX]).alias("__sex")]
    retry: dict[int, pl.Expr] = {}

    def hide(code: pl.Expr) -> pl.Expr:  # signs are hidden in self mode, but a bad value is still bad
        return pl.when(code == _BAD).then(pl.lit(_BAD, pl.Int8)).otherwise(pl.lit(0, pl.Int8))

    for fi, (key, sign) in enumerate(zip(ckb.findings, ckb.is_sign, strict=True)):
        if key in schema:
            dtype = schema[key]
            text = dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
            code = _finding_expr(key, dtype, exact=text)
            if text:
                full = _finding_expr(key, dtype)
                retry[fi] = (hide(full) if sign and mode == "self" else full).alias(key)
            if sign and mode == "self":
                code = hide(code)
        else:  # the answer rules: an unlisted symptom or history finding is absent, an unlisted sign unknown
            code = pl.lit(0 if sign else -1, pl.Int8)
        exprs.append(code.alias(key))
    return _Plan(exprs=tuple(exprs), finding_names=listed, has_id=ID in names, retry=retry)


_PLAN_CACHE: dict[tuple[Any, ...], _Plan] = {}


def _cached_plan(df: pl.DataFrame, ckb: CompiledKB, mode: Mode) -> _Plan:
    key = (ckb, mode, tuple((n, str(t)) for n, t in df.schema.items()))
    plan = _PLAN_CACHE.get(key)
    if plan is None:
        if len(_PLAN_CACHE) > 64:
            _PLAN_CACHE.clear()
        plan = _PLAN_CACHE[key] = _plan(df.schema, ckb, mode)
    return plan


def _rejects(df: pl.DataFrame, plan: _Plan, ckb: CompiledKB, ev: np.ndarray, age: np.ndarray, sex: np.ndarray,
             bad_rows: np.ndarray, first_row: int) -> pl.DataFrame:
    """One reject per invalid row: its first invalid column (age, sex, then findings in table order)."""
    cols = [AGE, SEX, *plan.finding_names]
    fcols = np.array([ckb.fidx[c] for c in plan.finding_names], dtype=np.intp)
    bad = np.concatenate([(age[bad_rows] < 0)[:, None], (sex[bad_rows] == _BAD)[:, None],
                          ev[bad_rows][:, fcols] == _BAD], axis=1)
    first = bad.argmax(axis=1)
    col_names = np.array(cols, dtype=object)[first]
    values = np.empty(len(bad_rows), dtype=object)
    for j in np.unique(first):
        sel = first == j
        raw = df.get_column(cols[j]).gather(bad_rows[sel])
        values[sel] = [("" if v is None else str(v)) for v in raw.cast(pl.String, strict=False).to_list()]
    reasons = np.where(first == 0, AGE_RULE, np.where(first == 1, SEX_RULE, FINDING_RULE))
    ids = (df.get_column(ID).cast(pl.String).gather(bad_rows) if plan.has_id
           else pl.Series(bad_rows.astype(np.int64) + first_row).cast(pl.String))
    return pl.DataFrame(
        {
            "row": bad_rows.astype(np.int64) + first_row,
            "id": ids,
            "column": pl.Series(col_names.tolist(), dtype=pl.String),
            "value": pl.Series(values.tolist(), dtype=pl.String),
            "reason": pl.Series(reasons.tolist(), dtype=pl.String),
        }
    )


def _top_k(post: np.ndarray, k: int) -> np.ndarray:
    """(N, k) column indices of the k largest probabilities, ties to the lower index.

    Same order as ``np.argsort(-post, kind="stable")[:, :k]`` (what :func:`painpath.assess`
    ranks by), but k arg-max passes are much cheaper than a full sort when k is small.
    """
    if k > 4:
        return np.argsort(-post, axis=1, kind="stable")[:, :k]
    work = post.copy()
    rows = np.arange(post.shape[0])
    out = np.empty((post.shape[0], k), dtype=np.intp)
    for j in range(k):
        out[:, j] = work.argmax(axis=1)
        work[rows, out[:, j]] = -1.0
    return out


def reject_message(reject: dict[str, Any], where: str = "", row_label: str = "row") -> str:
    prefix = f"{where}: " if where else ""
    value = reject["value"]
    got = "missing" if value == "" else f"got {value!r}"
    return f"{prefix}{row_label} {reject['row']}, column {reject['column']}: {reject['reason']}, {got}"


def score_frame(
    df: pl.DataFrame,
    options: BatchOptions = BatchOptions(),
    *,
    ckb: CompiledKB | None = None,
    first_row: int = 1,
    where: str = "",
    row_label: str = "row",
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Score a table of cases: ``(results, rejects)``. Pure: no I/O, same input -> same output.

    ``first_row`` is the 1-based number of ``df``'s first row in the whole input (used in
    error messages and rejects). Invalid rows raise :class:`BatchError` naming the row and
    column, unless ``options.skip_invalid``: then they are left out of the results and
    returned in ``rejects`` (columns row, id, column, value, reason); ``rejects`` is None
    when every row is valid. Results have the columns of :func:`output_schema`, in input order.
    """
    ckb = ckb or default_compiled()
    options = options.validated(ckb)
    try:
        plan = _cached_plan(df, ckb, options.mode)
    except BatchError as exc:
        raise BatchError(f"{where}: {exc}" if where else str(exc)) from exc
    n = df.height
    try:
        enc = df.select(plan.exprs)
    except pl.exceptions.PolarsError as exc:  # pragma: no cover - every value is mapped, not cast strictly
        raise BatchError(f"{where + ': ' if where else ''}cannot encode the table ({exc})") from exc
    age = enc.get_column("__age").to_numpy()
    sex = enc.get_column("__sex").to_numpy()
    ev = enc.drop("__age", "__sex").to_numpy(order="c")  # (N, F) int8 in ckb.findings order
    if plan.retry and (ev == _BAD).any():  # unusual spellings in text columns: decode those columns fully
        bad_cols = [int(fi) for fi in np.flatnonzero((ev == _BAD).any(axis=0)) if fi in plan.retry]
        if bad_cols:
            ev[:, bad_cols] = df.select([plan.retry[fi] for fi in bad_cols]).to_numpy()
    rejects = None
    keep: np.ndarray | None = None
    if (age < 0).any() or (sex == _BAD).any() or (plan.finding_names and (ev == _BAD).any()):
        invalid = (age < 0) | (sex == _BAD) | (ev == _BAD).any(axis=1)
        bad_rows = np.flatnonzero(invalid)
        rejects = _rejects(df, plan, ckb, ev, age, sex, bad_rows, first_row)
        if not options.skip_invalid:
            raise BatchError(reject_message(rejects.row(0, named=True), where, row_label))
        keep = np.flatnonzero(~invalid)
        age, sex, ev = age[keep], sex[keep], ev[keep]
    post, ranks = assess_arrays(ev, age, sex == 1, setting=options.setting or "self", ckb=ckb)

    if plan.has_id:
        ids = df.get_column(ID).cast(pl.String)
        if keep is not None:
            ids = ids.gather(keep)
    else:
        rows = np.arange(first_row, first_row + n, dtype=np.int64)
        ids = pl.Series(rows if keep is None else rows[keep]).cast(pl.String)
    cols: dict[str, Any] = {ID: ids.alias(ID), "triage": pl.Series(LEVEL_NAMES).gather(ranks)}
    order = _top_k(post, options.top)
    names = pl.Series(ckb.candidates)  # a top-k entry may be "other" (a cause outside the conditions)
    rix = np.arange(post.shape[0])
    for k in range(options.top):
        cols[f"top{k + 1}_condition"] = names.gather(order[:, k])
        cols[f"top{k + 1}_probability"] = post[rix, order[:, k]]
    origin = post @ ckb.origin_matrix
    for j, o in enumerate(ckb.origin_names):
        cols[f"origin_{o}"] = origin[:, j]
    if options.all_probabilities:
        for ci, c in enumerate(ckb.candidates):
            cols[f"p_{c}"] = post[:, ci]
    out = pl.DataFrame([v.alias(k) if isinstance(v, pl.Series) else pl.Series(k, v) for k, v in cols.items()])
    return out, rejects


# --------------------------------------------------------------------------------------------
# files: detect, read (streamed), write (appended)

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


def score_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    options: BatchOptions = BatchOptions(),
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    rejects: str | os.PathLike[str] | None = None,
    ckb: CompiledKB | None = None,
    threads: int | None = None,
    progress: Callable[[BatchSummary], None] | None = None,
) -> BatchSummary:
    """Stream ``source`` (CSV, Parquet, directory or glob of Parquet) into ``output`` (CSV or Parquet).

    Memory is bounded by ``chunk_size`` rows (times ``threads``, the chunks scored at once;
    default: 2, or 1 on a one-CPU machine), not by the input. Results are written in input
    order. The output (and the rejects
    file, with ``options.skip_invalid``) is written to a temporary file beside it and moved
    into place only when every row has been read, so a failed run leaves no partial output.
    """
    ckb = ckb or default_compiled()
    options = options.validated(ckb)
    if chunk_size < 1:
        raise BatchError(f"chunk size: must be at least 1, got {chunk_size}")
    threads = default_threads() if threads is None else threads
    if threads < 1:
        raise BatchError(f"threads: must be at least 1, got {threads}")
    out = os.fspath(output)
    out_fmt = _format_of(out, what="output")
    out_dir = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(out_dir):
        raise BatchError(f"{out}: directory {out_dir} does not exist")
    lf, _fmt, where = open_input(source)
    try:
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _polars_error(where, exc) from exc
    check_columns(list(schema.names()), ckb, where=where)
    rej_path = os.fspath(rejects) if rejects is not None else None
    if rej_path is None and options.skip_invalid:
        rej_path = _default_rejects(out)
    if rej_path is not None and _format_of(rej_path, what="rejects") != "csv":
        raise BatchError(f"{rej_path}: the rejects file must be .csv")

    summary = BatchSummary(output=out, rejects=rej_path if options.skip_invalid else None)
    tmp = _tmp_path(out)
    tmp_rej = _tmp_path(rej_path) if (rej_path and options.skip_invalid) else None
    sink = _Sink(tmp, out_fmt)
    rej_sink = _Sink(tmp_rej, "csv") if tmp_rej else None
    t0 = time.perf_counter()
    ok = False
    blas = _one_blas_thread()
    pool = ThreadPoolExecutor(threads, thread_name_prefix="painpath-batch") if threads > 1 else None
    pending: deque[tuple[Future[tuple[pl.DataFrame, pl.DataFrame | None]], int]] = deque()

    def finish_one() -> None:
        fut, end_row = pending.popleft()
        scored, rej = fut.result()
        sink.write(scored)
        if rej is not None and rej_sink is not None:
            rej_sink.write(rej)
            summary.rejected += rej.height
        summary.rows = end_row
        summary.scored += scored.height
        summary.chunks += 1
        for level, count in scored.get_column("triage").value_counts().iter_rows():
            summary.levels[level] += count
        if progress is not None:
            summary.seconds = time.perf_counter() - t0
            progress(summary)

    try:
        row = 0
        for chunk in iter_chunks(lf, chunk_size, where):
            args = (chunk, options)
            kw = {"ckb": ckb, "first_row": row + 1, "where": where}
            row += chunk.height
            if pool is None:
                done: Future[tuple[pl.DataFrame, pl.DataFrame | None]] = Future()
                done.set_result(score_frame(*args, **kw))  # type: ignore[arg-type]  # kw holds score_frame's keyword arguments, typed by the caller
                pending.append((done, row))
            else:
                pending.append((pool.submit(score_frame, *args, **kw), row))  # type: ignore[arg-type]  # kw holds score_frame's keyword arguments, typed by the caller
            while len(pending) > (threads if pool is not None else 0):  # at most `threads` chunks in flight
                finish_one()
        while pending:
            finish_one()
        if not sink.opened:  # empty input: write the header / schema only
            empty = pl.DataFrame(schema=schema)
            sink.write(score_frame(empty, options, ckb=ckb)[0])
        if rej_sink is not None and not rej_sink.opened:
            rej_sink.write(pl.DataFrame(schema={**dict.fromkeys(REJECT_COLUMNS, pl.String), "row": pl.Int64}))
        sink.close()
        if rej_sink is not None:
            rej_sink.close()
        os.replace(tmp, out)
        if tmp_rej and rej_path:
            os.replace(tmp_rej, rej_path)
        ok = True
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if blas is not None:
            blas.restore_original_limits()
        if not ok:
            sink.close()
            if rej_sink is not None:
                rej_sink.close()
            for p in (tmp, tmp_rej):
                if p and os.path.exists(p):
                    os.remove(p)
    summary.seconds = time.perf_counter() - t0
    return summary


def _one_blas_thread() -> Any:
    """Pin BLAS to one thread while streaming (we run chunks in parallel instead); needs threadpoolctl.

    Idle multi-threaded BLAS workers spin between the small matrix products of each chunk and
    take CPU from the chunk threads and the Parquet reader.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is in the batch extra
        return None
    return threadpool_limits(limits=1, user_api="blas")


def tune_allocator() -> bool:
    """Let glibc keep freed chunk buffers instead of unmapping them (Linux; whole process).

    Each chunk allocates a few arrays of tens of MB; by default glibc serves those with fresh
    ``mmap`` calls and returns them on free, so every chunk pays page faults again (about a
    fifth of the CPU time of ``painpath batch``). Raising the mmap and trim thresholds keeps the
    memory in the heap for the next chunk; peak RSS is unchanged. Called by the CLI, which owns
    its process; a library caller can opt in. Returns whether the settings were applied.
    (Chunk threads other than the main one allocate from glibc thread arenas, which still map
    arrays this large; ``MALLOC_ARENA_MAX=1`` in the environment, set before Python starts,
    sends them to the main heap too.)
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 1 << 30) == 1
        return libc.mallopt(m_trim_threshold, 1 << 31) == 1 and ok
    except (OSError, AttributeError):  # not glibc
        return False


def default_threads() -> int:
    """Chunks scored at once: NumPy releases the GIL, so two threads keep two cores busy."""
    return max(1, min(2, os.cpu_count() or 1))


def _default_rejects(out: str) -> str:
    stem = out
    for ext in (*CSV_EXT, *PARQUET_EXT):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    return f"{stem}.rejects.csv"


# --------------------------------------------------------------------------------------------
# Dask


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
