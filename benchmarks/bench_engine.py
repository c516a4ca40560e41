"""Engine speed: one case in-process (p50, p99) and batch throughput on synthetic encoded cases.

Runs on ONE core (BLAS threads pinned to 1 before NumPy loads). Batch throughput is
measured on cases already encoded as arrays (parsing excluded), in chunks, and in the
same run beside a reference: two float32 matrix products and a softmax of the same
shape (cases x findings -> candidates) in the same chunks; ``engine_to_reference`` is
the ratio of the two throughputs (target >= 0.5). The one-case figures are wall time (the
target); ``assess_one_case_cpu_ms`` adds the thread's CPU time for the same calls, which time
slices given to other processes on a shared machine do not inflate.

Usage: python benchmarks/bench_engine.py [--cases 1000000] [--chunk 50000] [--json]
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from painpath import assess, load_cases  # noqa: E402
from painpath.assessment import assess_arrays  # noqa: E402
from painpath.engine import default_compiled  # noqa: E402


def synthetic(n: int, f: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random evidence: each finding present 8%, absent 72%, unknown 20%."""
    r = rng.random((n, f), dtype=np.float32)
    ev = np.where(r < 0.08, 1, np.where(r < 0.80, -1, 0)).astype(np.int8)
    return ev, rng.integers(16, 90, n), rng.random(n) < 0.5


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--single", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    ckb = default_compiled()
    rng = np.random.default_rng(7)

    # one case, full Assessment object (explanations included), in-process
    bench = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "benchmark-v2", "dev")
    cases = load_cases(bench, ckb) if os.path.isdir(bench) else None
    case = cases[0] if cases else {"age": 40, "sex": "male", "findings": {"low_back_pain": True, "calf_pain": True}}
    for _ in range(50):
        assess(case, ckb=ckb)
    times, cpu = [], []
    for _ in range(a.single):
        t0, c0 = time.perf_counter(), time.thread_time()
        assess(case, ckb=ckb)
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    full = np.array(times) * 1e3
    full_cpu = np.array(cpu) * 1e3  # this thread's CPU time: what other processes' time slices do not inflate

    # one case through the array form (posterior + triage only)
    ev1, age1, fem1 = synthetic(1, len(ckb.findings), rng)
    t = []
    for _ in range(a.single):
        t0 = time.perf_counter()
        assess_arrays(ev1, age1, fem1, ckb=ckb)
        t.append(time.perf_counter() - t0)
    arr = np.array(t) * 1e3

    # batch throughput, interleaved chunk by chunk with the reference (two float32 matrix products
    # and a softmax of the engine's shape, cases x F findings -> M candidates, in the same chunks),
    # so that both see the same machine load
    m = len(ckb.candidates)
    ev, age, fem = synthetic(a.chunk, len(ckb.findings), rng)
    x1 = (ev != 0).astype(np.float32)
    x2 = (ev > 0).astype(np.float32)
    a1 = rng.standard_normal((len(ckb.findings), m)).astype(np.float32)
    a2 = rng.standard_normal((len(ckb.findings), m)).astype(np.float32)

    def reference(n: int) -> None:
        z = x1[:n] @ a1
        z += x2[:n] @ a2
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)

    assess_arrays(ev[:1000], age[:1000], fem[:1000], ckb=ckb)
    reference(1000)
    done, elapsed, ref_elapsed = 0, 0.0, 0.0
    while done < a.cases:
        n = min(a.chunk, a.cases - done)
        t0 = time.perf_counter()
        assess_arrays(ev[:n], age[:n], fem[:n], ckb=ckb)
        t1 = time.perf_counter()
        reference(n)
        ref_elapsed += time.perf_counter() - t1
        elapsed += t1 - t0
        done += n
    ref_done = done
    engine_rate, ref_rate = done / elapsed, ref_done / ref_elapsed
    out = {
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}, "
                   f"numpy {np.__version__}, 1 thread",
        "assess_one_case_ms": {"p50": round(float(np.percentile(full, 50)), 3), "p99": round(float(np.percentile(full, 99)), 3)},
        "assess_one_case_cpu_ms": {"p50": round(float(np.percentile(full_cpu, 50)), 3),
                                   "p99": round(float(np.percentile(full_cpu, 99)), 3)},
        "arrays_one_case_ms": {"p50": round(float(np.percentile(arr, 50)), 3), "p99": round(float(np.percentile(arr, 99)), 3)},
        "shape": {"findings": len(ckb.findings), "candidates": m, "conditions": len(ckb.conditions)},
        "batch": {"cases": done, "seconds": round(elapsed, 3), "cases_per_second": round(engine_rate)},
        "reference": {"what": "2 float32 matmuls + softmax, same shape and chunks", "cases": ref_done,
                      "seconds": round(ref_elapsed, 3), "cases_per_second": round(ref_rate)},
        "engine_to_reference": round(engine_rate / ref_rate, 3),
    }
    print(json.dumps(out, indent=2) if a.json else out)


if __name__ == "__main__":
    main()
