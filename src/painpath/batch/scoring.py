"""The pure scoring function: a Polars DataFrame of cases in, a DataFrame of results (and rejects) out.

No I/O: :func:`score_frame` is what both the streamed file path (:mod:`painpath.batch.stream`) and the Dask
path (:mod:`painpath.batch.dask_path`) map over their chunks or partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from painpath.assessment import assess_arrays
from painpath.cases import Mode
from painpath.engine import CompiledKB, default_compiled

from .schema import AGE, ID, LEVEL_NAMES, RESERVED, SEX, BatchError, BatchOptions, check_columns

__all__ = ["AGE_RULE", "FINDING_RULE", "REJECT_COLUMNS", "SEX_RULE", "reject_message", "score_frame"]

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
