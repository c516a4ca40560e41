"""Maintainer tool: list (or remove with --apply) explicit *estimate* strengths that only restate
the finding's default (within a factor of 1.5 on the odds scale). They carry no information the
default does not, and clutter the evidence statistics."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

from painpath.kb import load_kb

PATH = Path(__file__).resolve().parents[1] / "src/painpath/kb/data/strengths.yaml"


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def redundant(kb) -> list[tuple[str, str]]:
    out = []
    for cond, table in kb.strengths.strengths.items():
        for f, s in table.items():
            if s.basis != "estimate":
                continue
            p = kb.strength(cond, f)[0]
            d = kb.strengths.defaults[f]
            pd = d.p if d.p is not None else kb.strengths.grades[d.grade]
            if abs(logit(p) - logit(pd)) < math.log(1.5):
                out.append((cond, f))
    return out


if __name__ == "__main__":
    kb = load_kb()
    pairs = redundant(kb)
    for c, f in pairs:
        print(c, f)
    print(len(pairs), "redundant estimate entries")
    if "--apply" in sys.argv:
        text = PATH.read_text()
        lines = text.split("\n")
        cond = None
        keep = []
        drop = set(pairs)
        for ln in lines:
            m = re.match(r"^  (\w+):$", ln)
            if m:
                cond = m.group(1)
            fm = re.match(r"^    (\w+):", ln)
            if cond and fm and (cond, fm.group(1)) in drop:
                continue
            keep.append(ln)
        PATH.write_text("\n".join(keep))
