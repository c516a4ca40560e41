"""Maintainer tool: set one strength entry in kb/data/strengths.yaml, keeping the file's layout.

Usage: python scripts/set_strength.py CONDITION FINDING '{p: 0.5, src: x, note: "..."}'
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PATH = Path(__file__).resolve().parents[1] / "src/painpath/kb/data/strengths.yaml"


def set_entry(text: str, cond: str, finding: str, value: str) -> str:
    lines = text.split("\n")
    start = next(i for i, ln in enumerate(lines) if ln == f"  {cond}:")
    end = start + 1
    while end < len(lines) and (lines[end].startswith("    ") or lines[end] == ""):
        if lines[end] == "" and end + 1 < len(lines) and re.match(r"^  \S", lines[end + 1]):
            break
        end += 1
    new = f"    {finding}: {value}"
    for i in range(start + 1, end):
        if lines[i].startswith(f"    {finding}:"):
            lines[i] = new
            return "\n".join(lines)
    last = max(i for i in range(start + 1, end) if lines[i].strip())
    lines.insert(last + 1, new)
    return "\n".join(lines)


if __name__ == "__main__":
    cond, finding, value = sys.argv[1:4]
    PATH.write_text(set_entry(PATH.read_text(), cond, finding, value))
