"""Imperfect-report robustness: score perturbed copies of benchmark cases.

Each case is copied many times with its reported symptom/history findings
degraded the way real reports are: a present symptom forgotten (becomes
absent), answered "don't know" (null), or a listed absent symptom wrongly
affirmed. Gold labels are unchanged except that triage gold is recomputed
from the policy when a floor-triggering finding is removed (the benchmark's
floors fire only on findings stated true).

Usage: python benchmarks/robustness.py [DIR] [--copies 20] [--seed 1] [--temperature T]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys

from painpath.cases import load_cases
from painpath.engine import compile_kb, default_compiled
from painpath.engine.compiled import RANK_LEVEL
from painpath.engine.triage import floor_matrix
from painpath.evaluate import score_cases


def perturb(case, ckb, rng: random.Random, p_forget: float, p_null: float, p_false_yes: float):
    f = dict(case.findings)
    sym = {k for k in ckb.findings if ckb.kb.findings.findings[k].kind != "sign"}
    present = [k for k, v in f.items() if v is True and k in sym and ckb.kb.findings.findings[k].group != "location"]
    for k in present:
        r = rng.random()
        if r < p_forget:
            f[k] = False
        elif r < p_forget + p_null:
            f[k] = None
    # in KB order, not set order: the draws below must not depend on the string hash seed
    absent = [k for k in ckb.findings if k in sym and (k not in f or f[k] is False)]  # unlisted = absent
    for k in absent:
        if ckb.kb.findings.findings[k].group in ("location", "warning_back", "swelling_skin_general"):
            continue  # do not invent red flags or locations
        if rng.random() < p_false_yes:
            f[k] = True
    return dataclasses.replace(case, findings=f)


def regold(case, ckb):
    """Recompute gold triage by the policy for the perturbed findings (TRIAGE.md):
    the gold condition's level after escalations (for gold "other", the case's own level), raised by every
    floor the findings now trigger."""
    from painpath.cases import encode
    from painpath.engine.compiled import LEVEL_RANK
    from painpath.engine.triage import condition_ranks

    present = (encode(case, ckb, "clinician") > 0)[None, :]
    eff, _ = condition_ranks(ckb, present)
    if case.gold.condition == "other":  # TRIAGE.md section 3: the case's own level, raised only by floors
        rank = LEVEL_RANK[case.gold.triage]
    else:
        rank = int(eff[0, ckb.cidx[case.gold.condition]])
    floors = floor_matrix(ckb, present)[0]
    for j, fl in enumerate(ckb.kb.triage.floors):
        if floors[j]:
            rank = max(rank, LEVEL_RANK[fl.level])
    return dataclasses.replace(case, gold=dataclasses.replace(case.gold, triage=RANK_LEVEL[rank]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?", default="../shared/benchmark/dev")
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--forget", type=float, default=0.15)
    ap.add_argument("--null", type=float, default=0.15)
    ap.add_argument("--false-yes", type=float, default=0.02)
    ap.add_argument("--temperature", type=float, default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--interview", action="store_true", help="run each perturbed case as a simulated interview")
    a = ap.parse_args()
    ckb = default_compiled()
    if a.temperature is not None:
        kb = ckb.kb
        kb2 = dataclasses.replace(kb, model=kb.model.model_copy(update={"temperature": a.temperature}))
        ckb = compile_kb(kb2)
    cases = load_cases(a.dir, ckb, require_gold=True)
    rng = random.Random(a.seed)
    pert = []
    for c in cases:
        for i in range(a.copies):
            pc = perturb(c, ckb, rng, a.forget, a.null, a.false_yes)
            pert.append(regold(dataclasses.replace(pc, id=f"{c.id}~{i}"), ckb))
    out = {}
    for mode in ("self", "clinician"):
        if a.interview:
            from painpath.interview.simulate import score_interviews

            s = score_interviews(pert, mode, ckb=ckb)
            s.pop("questions")
        else:
            s = score_cases(pert, mode, ckb=ckb)
        s.pop("misses")
        out[mode] = s
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        for mode, s in out.items():
            print(mode, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in s.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
