"""Compare two gettext catalogues by their (msgid, msgstr) pairs, ignoring layout, order and comments.

Usage::

    git show HEAD:src/painpath/web/locale/es/LC_MESSAGES/messages.po > /tmp/before.po
    make messages
    python scripts/compare_catalogues.py /tmp/before.po src/painpath/web/locale/es/LC_MESSAGES/messages.po

It prints the entries only in one of them and those whose translation changed, and exits 1 when a
translation changed or a translated entry is gone (so a regeneration that loses Spanish is noticed),
0 otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from babel.messages.pofile import read_po

Key = tuple[object, str | None]


def pairs(path: Path) -> dict[Key, object]:
    """(msgid, context) -> msgstr of every entry except the header."""
    with path.open("rb") as f:
        cat = read_po(f)
    out: dict[Key, object] = {}
    for m in cat:
        if m.id:
            out[(m.id, m.context)] = m.string
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args(argv)
    before, after = pairs(args.before), pairs(args.after)
    gone = sorted((k for k in before.keys() - after.keys()), key=str)
    new = sorted((k for k in after.keys() - before.keys()), key=str)
    changed = sorted((k for k in before.keys() & after.keys() if before[k] != after[k]), key=str)
    print(f"entries: {len(before)} -> {len(after)}; only before: {len(gone)}; only after: {len(new)}; "
          f"translation changed: {len(changed)}")
    for k in gone:
        print(f"- {k[0]!r}" + (" (was translated)" if before[k] else ""))
    for k in new:
        print(f"+ {k[0]!r}")
    for k in changed:
        print(f"~ {k[0]!r}: {before[k]!r} -> {after[k]!r}")
    lost = [k for k in gone if before[k]]
    return 1 if changed or lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
