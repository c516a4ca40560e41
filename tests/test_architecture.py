"""The domain core imports no web, database or terminal framework."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import painpath

PKG = Path(painpath.__file__).resolve().parent
CORE = ["kb", "engine", "interview", "careplan"]
FORBIDDEN = {"fastapi", "sqlalchemy", "typer", "rich", "starlette", "uvicorn"}


def _imports(path: Path) -> set[str]:
    """Top-level module names imported anywhere in a file (including inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def _core_files() -> list[Path]:
    return sorted(p for sub in CORE for p in (PKG / sub).rglob("*.py"))


def test_core_packages_exist() -> None:
    for sub in CORE:
        assert (PKG / sub / "__init__.py").is_file(), sub
    assert len(_core_files()) >= 10


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(PKG)))
def test_no_framework_imports(path: Path) -> None:
    bad = _imports(path) & FORBIDDEN
    assert not bad, f"{path.relative_to(PKG)} imports {sorted(bad)}"


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    p = tmp_path / "m.py"
    p.write_text("import os\nfrom rich.console import Console\n\ndef f():\n    import typer.testing\n    from . import x\n")
    assert _imports(p) == {"os", "rich", "typer"}


def test_importing_the_core_loads_no_framework() -> None:
    code = (
        "import sys\n"
        "import painpath, painpath.kb, painpath.engine, painpath.interview, painpath.interview.simulate, painpath.careplan\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r})\n"
        "print(','.join(bad))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""
