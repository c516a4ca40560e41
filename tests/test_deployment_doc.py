"""docs/deployment.md documents every setting the service reads, with its environment variable and default."""

from __future__ import annotations

import re
from pathlib import Path

from painpath.config import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "deployment.md"


def _rows() -> dict[str, str]:
    """variable -> default cell, from the settings table."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `([A-Z_]+)` \| ([^|]+) \|", line)
        if m:
            rows[m.group(1)] = m.group(2).strip()
    return rows


def test_every_setting_is_documented_with_its_default() -> None:
    rows = _rows()
    expected = set()
    for name, field in Settings.model_fields.items():
        var = "DATABASE_URL" if name == "database_url" else f"PAINPATH_{name.upper()}"
        expected.add(var)
        assert var in rows, f"{var} is missing from docs/deployment.md"
        if name == "data_dir":  # depends on the machine and user (platformdirs): the table says so in words
            assert "user data directory" in rows[var] and "painpath" in rows[var], rows[var]
            continue
        default = field.default_factory() if field.default_factory else field.default
        if isinstance(default, bool):
            want = str(default).lower()
        elif isinstance(default, (int, Path)) or (isinstance(default, str) and default):
            want = str(default)
        else:  # unset (None, "") or a structure: the table says so in words
            continue
        assert rows[var].strip("`") == want, (var, rows[var], default)
    assert set(rows) == expected, f"documented but not a setting: {set(rows) - expected}"
