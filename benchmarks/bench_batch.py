"""Bulk scoring: `painpath batch` on N synthetic cases in Parquet, peak memory and throughput.

1. Generates N synthetic cases (default 10,000,000) streamed to a Parquet file in chunks:
   each case draws a condition from the KB prior, age and sex, then every finding from
   P(finding | condition); 10% of symptom/history answers are "don't know" (null) and signs
   are recorded for 30% of cases (null otherwise), so the table is as sparse as real intake.
2. Measures the in-memory engine figure in this process: ``assess_arrays`` on cases already
   encoded as arrays (no parsing, no I/O), in chunks of the same size, one BLAS thread; once
   before and once after the batch run, averaged (the load of a shared machine drifts).
3. Runs ``painpath batch IN OUT`` in a subprocess and reads its peak RSS and CPU time from
   ``os.wait4`` (the child's own rusage), and its wall time. Throughput is cases / wall time
   (start-up included); cases per CPU-second are also given, as they vary less with the
   machine's load.

Usage: python benchmarks/bench_batch.py [--cases 10000000] [--chunk-size 50000] [--mode clinician]
       [--threads N] [--dir DIR] [--keep] [--reuse] [--output parquet|csv] [--json]
Targets: peak RSS < 2 GB; throughput within 3x of the in-memory figure.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from painpath.assessment import assess_arrays  # noqa: E402
from painpath.engine import CompiledKB, default_compiled  # noqa: E402

GEN_CHUNK = 250_000


def synthetic_chunk(ckb: CompiledKB, n: int, rng: np.random.Generator, setting: str = "self",
                    unknown: float = 0.10, signs_examined: float = 0.30) -> dict[str, np.ndarray]:
    """n synthetic cases: 'condition', 'age', 'female', 'present' (n, F) bool, 'known' (n, F) bool."""
    prior = np.exp(ckb.log_prior[setting])
    cond = rng.choice(len(prior), size=n, p=prior / prior.sum())
    theta = ckb.theta.astype(np.float32)
    present = rng.random((n, len(ckb.findings)), dtype=np.float32) < theta[cond]
    known = rng.random((n, len(ckb.findings)), dtype=np.float32) >= unknown
    examined = rng.random(n) < signs_examined
    known[:, ckb.is_sign] &= examined[:, None]
    return {
        "condition": cond,
        "age": rng.integers(16, 91, n),
        "female": rng.random(n) < 0.5,
        "present": present,
        "known": known,
    }


def encoded(ckb: CompiledKB, chunk: dict[str, np.ndarray], mode: str) -> np.ndarray:
    """The evidence array painpath batch builds from the same rows (for the in-memory figure)."""
    ev = np.where(chunk["known"], np.where(chunk["present"], 1, -1), 0).astype(np.int8)
    if mode == "self":
        ev[:, ckb.is_sign] = 0
    return ev


def write_parquet(path: Path, n: int, ckb: CompiledKB, seed: int = 7) -> float:
    """Stream n synthetic cases into a Parquet file, GEN_CHUNK rows (one row group) at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    writer = None
    done = 0
    sexes = pa.array(["male", "female"]).dictionary_encode()
    try:
        while done < n:
            m = min(GEN_CHUNK, n - done)
            ch = synthetic_chunk(ckb, m, rng)
            cols: dict[str, pa.Array] = {
                "id": pa.array(np.arange(done + 1, done + m + 1, dtype=np.int64)),
                "age": pa.array(ch["age"].astype(np.int16)),
                "sex": pa.DictionaryArray.from_arrays(pa.array(ch["female"].astype(np.int8)), sexes.dictionary),
            }
            for j, key in enumerate(ckb.findings):
                cols[key] = pa.array(ch["present"][:, j], mask=~ch["known"][:, j])
            table = pa.table(cols)
            if writer is None:
                writer = pq.ParquetWriter(str(path), table.schema, compression="zstd")
            writer.write_table(table, row_group_size=GEN_CHUNK)
            done += m
    finally:
        if writer is not None:
            writer.close()
    return time.perf_counter() - t0


def in_memory(ckb: CompiledKB, chunk_size: int, total: int, mode: str) -> dict[str, float]:
    """assess_arrays throughput on already-encoded synthetic cases (same generator), one thread."""
    rng = np.random.default_rng(11)
    ch = synthetic_chunk(ckb, chunk_size, rng)
    ev = encoded(ckb, ch, mode)
    age, female = ch["age"], ch["female"]
    setting = "self" if mode == "self" else "clinic"
    assess_arrays(ev[:1000], age[:1000], female[:1000], setting=setting, ckb=ckb)
    done, t0, c0 = 0, time.perf_counter(), time.process_time()
    while done < total:
        m = min(chunk_size, total - done)
        assess_arrays(ev[:m], age[:m], female[:m], setting=setting, ckb=ckb)
        done += m
    s, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"cases": done, "seconds": round(s, 3), "cases_per_second": round(done / s),
            "cases_per_cpu_second": round(done / cpu)}


def painpath_exe() -> list[str]:
    exe = Path(sys.executable).parent / "painpath"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "painpath"]


def run_batch(inp: Path, out: Path, mode: str, chunk_size: int, extra: list[str]) -> dict[str, float | int | str]:
    """Run `painpath batch` as a child; peak RSS and CPU from os.wait4 (that child only)."""
    cmd = [*painpath_exe(), "batch", str(inp), str(out), "--mode", mode, "--chunk-size", str(chunk_size), *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _pid, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise SystemExit(f"painpath batch failed ({proc.returncode}): {stderr.strip() or stdout.strip()}")
    return {
        "command": " ".join(["painpath", *cmd[len(painpath_exe()):]]),
        "wall_seconds": round(wall, 2),
        "cpu_user_seconds": round(ru.ru_utime, 2),
        "cpu_system_seconds": round(ru.ru_stime, 2),
        "peak_rss_mb": round(ru.ru_maxrss / 1024, 1),  # Linux: KiB
        "stdout": stdout.strip(),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000_000)
    ap.add_argument("--chunk-size", type=int, default=50_000)
    ap.add_argument("--mode", choices=("self", "clinician"), default="clinician")
    ap.add_argument("--output", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--threads", type=int, default=None, help="painpath batch --threads (default: its own default, 2)")
    ap.add_argument("--in-memory-cases", type=int, default=2_000_000)
    ap.add_argument("--dir", type=Path, default=None, help="where to put the files (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the generated input and the output")
    ap.add_argument("--reuse", action="store_true", help="reuse an existing input file of the right size in --dir")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    ckb = default_compiled()
    work = a.dir or Path(tempfile.mkdtemp(prefix="painpath-bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    inp = work / f"cases_{a.cases}.parquet"
    out = work / f"scored_{a.cases}.{a.output}"
    try:
        gen_s = None
        if not (a.reuse and inp.is_file()):
            if not a.json:
                print(f"generating {a.cases:,} cases -> {inp}", file=sys.stderr)
            gen_s = write_parquet(inp, a.cases, ckb)
        before = in_memory(ckb, a.chunk_size, a.in_memory_cases, a.mode)
        if not a.json:
            print(f"in-memory engine: {before['cases_per_second']:,} cases/s; running painpath batch ...",
                  file=sys.stderr)
        run = run_batch(inp, out, a.mode, a.chunk_size, [] if a.threads is None else ["--threads", str(a.threads)])
        after = in_memory(ckb, a.chunk_size, a.in_memory_cases, a.mode)
        # measured before and after the batch run, averaged: the load of a shared machine drifts
        mem = {
            "cases": before["cases"] + after["cases"],
            "seconds": round(before["seconds"] + after["seconds"], 3),
            "cases_per_second": round((before["cases_per_second"] + after["cases_per_second"]) / 2),
            "cases_per_cpu_second": round((before["cases_per_cpu_second"] + after["cases_per_cpu_second"]) / 2),
            "before_after_cases_per_second": [before["cases_per_second"], after["cases_per_second"]],
        }
        thr = a.cases / float(run["wall_seconds"])
        result = {
            "machine": f"{cpu_model()}, {os.cpu_count()} CPUs, {platform.machine()}, "
                       f"CPython {platform.python_version()}, numpy {np.__version__}",
            "cases": a.cases,
            "mode": a.mode,
            "chunk_size": a.chunk_size,
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "input_mb": round(inp.stat().st_size / 2**20, 1),
            "output_mb": round(out.stat().st_size / 2**20, 1),
            "generate_seconds": None if gen_s is None else round(gen_s, 1),
            "batch": {**run, "cases_per_second": round(thr),
                      "cases_per_cpu_second": round(a.cases / (float(run["cpu_user_seconds"])
                                                               + float(run["cpu_system_seconds"])))},
            "in_memory": mem,
            "ratio_in_memory_to_batch": round(mem["cases_per_second"] / thr, 2),
            "targets": {
                "peak_rss_under_2gb": float(run["peak_rss_mb"]) < 2048,
                "within_3x_of_in_memory": mem["cases_per_second"] / thr <= 3.0,
            },
        }
        if a.json:
            print(json.dumps(result, indent=2))
        else:
            print(f"painpath batch, {a.cases:,} cases ({result['input_mb']} MB Parquet in, {a.output} out):")
            print(f"  wall {run['wall_seconds']} s, {thr:,.0f} cases/s, peak RSS {run['peak_rss_mb']} MB, "
                  f"CPU user {run['cpu_user_seconds']} s + system {run['cpu_system_seconds']} s")
            print(f"  in-memory engine (assess_arrays, encoded, 1 thread): {mem['cases_per_second']:,} cases/s "
                  f"-> in-memory / batch = {result['ratio_in_memory_to_batch']}x")
            print(f"  per CPU-second (load-independent): batch {result['batch']['cases_per_cpu_second']:,}, "
                  f"in-memory {mem['cases_per_cpu_second']:,}")
            print(f"  targets: {result['targets']}")
    finally:
        if not a.keep:
            if a.dir is None:
                shutil.rmtree(work, ignore_errors=True)
            else:
                for p in (inp, out):
                    if p.exists() and not (a.reuse and p == inp):
                        p.unlink()


if __name__ == "__main__":
    main()
