"""Next-question latency on the full knowledge base (p50, p99), one core.

Replays every benchmark-v2 dev case (v1 if v2 is missing) as a simulated interview, both modes, and
times each step as the front ends take it: ``services.next_step_final`` (the next question or the stop,
with the one final level, which REST ``/v1/interview/*`` and FHIR ``$next-question`` report).
Usage: python benchmarks/bench_interview.py [--json]
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from painpath.cases import encode, load_cases  # noqa: E402
from painpath.engine import default_compiled  # noqa: E402
from painpath.interview import InterviewState, answer  # noqa: E402
from painpath.services import next_step_final  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    ckb = default_compiled()
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
    bench = next(d for d in (os.path.join(shared, "benchmark-v2", "dev"), os.path.join(shared, "benchmark", "dev"))
                  if os.path.isdir(d))
    cases = load_cases(bench, ckb)
    times = []
    for _ in range(a.repeat):
        for mode in ("self", "clinician"):
            for case in cases:
                truth = encode(case, ckb, mode)
                state = InterviewState(age=case.age, sex=case.sex, mode=mode)
                while True:
                    t0 = time.perf_counter()
                    step = next_step_final(state, ckb)
                    times.append(time.perf_counter() - t0)
                    if step.should_stop:
                        break
                    q = step.question
                    vals = {k: ("present" if truth[ckb.fidx[k]] > 0 else "absent" if truth[ckb.fidx[k]] < 0 else "unknown")
                            for k in q.findings}
                    state = answer(state, vals, ckb, screen=q.screen)
    ms = np.array(times) * 1e3
    out = {"cases": os.path.relpath(bench), "calls": len(ms), "next_question_ms": {"p50": round(float(np.percentile(ms, 50)), 3),
                                                  "p99": round(float(np.percentile(ms, 99)), 3),
                                                  "max": round(float(ms.max()), 3)}}
    print(json.dumps(out, indent=2) if a.json else out)


if __name__ == "__main__":
    main()
