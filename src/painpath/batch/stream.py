"""``painpath batch``: stream an input file through :func:`score_frame` into an output file, a few chunks at
a time, with memory bounded by the chunk size whatever the input size."""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import polars as pl

from painpath.engine import CompiledKB, default_compiled

from .reading import _format_of, _polars_error, iter_chunks, open_input
from .schema import DEFAULT_CHUNK_SIZE, BatchError, BatchOptions, BatchSummary, check_columns
from .scoring import REJECT_COLUMNS, score_frame
from .writing import _default_rejects, _Sink, _tmp_path

__all__ = ["default_threads", "score_file", "tune_allocator"]


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
