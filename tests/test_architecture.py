"""The layers depend only downward (docs/architecture.md).

* The domain core (kb, engine, interview, careplan, the vocabulary in painpath.domain and the message ids in
  painpath.messages) imports no web, database, template, PDF, migration, translation or terminal library,
  and none of PainPath's adapters.
* The application layer (painpath.services) imports neither frameworks nor storage nor front ends.
* The front ends (api, web, fhir, cli) never import one another: what the HTTP ones share lives in
  painpath.http, and painpath.asgi (the one app factory) wires them together.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import painpath

PKG = Path(painpath.__file__).resolve().parent
CORE = ["kb", "engine", "interview", "careplan"]
FORBIDDEN = {"fastapi", "sqlalchemy", "typer", "rich", "starlette", "uvicorn", "jinja2", "weasyprint", "alembic", "babel"}
#: PainPath packages the core must not import: storage, the front ends, and what wires them.
ADAPTERS = ["api", "web", "fhir", "cli"]
NOT_FOR_CORE = {"storage", "http", "asgi", "bench", *ADAPTERS}
#: Alias modules left at an old path after a move (the same module object as the new one), not code.
ALIASES = {"interview/simulate.py"}
#: Known sideways imports, each with the reason it is still there. The test fails on any other, and on an
#: entry here that is no longer needed (so the list only shrinks).
SIDEWAYS_ALLOWED = {
    # the clinic pages reuse the REST API's export and user listing (to move into an application layer)
    ("web/clinic.py", "api"),
}


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


def _painpath_imports(path: Path, package: tuple[str, ...] | None = None) -> set[str]:
    """The painpath subpackages or modules a file imports (``painpath.storage.db`` -> ``storage``), relative
    imports included (``from ..web import x`` in painpath/api -> ``web``). ``package``: the file's package
    inside painpath (default: where the file is)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = package if package is not None else path.relative_to(PKG).parts[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel[: len(rel) - (node.level - 1)]) if node.level - 1 <= len(rel) else []
                mod = ".".join(["painpath", *base, *([node.module] if node.module else [])])
                names = [mod] if node.module or base else [f"painpath.{a.name}" for a in node.names]
            elif node.module == "painpath":
                names = [f"painpath.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
        else:
            continue
        for n in names:
            parts = n.split(".")
            if parts[0] == "painpath" and len(parts) > 1:
                out.add(parts[1])
    return out


def _core_files() -> list[Path]:
    """The core packages' modules, and the core's vocabulary modules beside them (domain.py, messages.py)."""
    return sorted([*(p for sub in CORE for p in (PKG / sub).rglob("*.py")), PKG / "messages.py"])


def test_core_packages_exist() -> None:
    for sub in CORE:
        assert (PKG / sub / "__init__.py").is_file(), sub
    assert len(_core_files()) >= 10


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(PKG)))
def test_no_framework_imports(path: Path) -> None:
    bad = _imports(path) & FORBIDDEN
    assert not bad, f"{path.relative_to(PKG)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", [p for p in [*_core_files(), PKG / "domain.py"] if str(p.relative_to(PKG)) not in ALIASES],
                         ids=lambda p: str(p.relative_to(PKG)))
def test_the_core_imports_no_adapter(path: Path) -> None:
    bad = _painpath_imports(path) & NOT_FOR_CORE
    assert not bad, f"{path.relative_to(PKG)} imports painpath.{sorted(bad)}: the core must not depend on them"


@pytest.mark.parametrize("path", sorted((PKG / "services").rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_the_application_layer_imports_no_framework_storage_or_front_end(path: Path) -> None:
    bad = sorted(_imports(path) & FORBIDDEN) + sorted(f"painpath.{m}" for m in _painpath_imports(path) & NOT_FOR_CORE)
    assert not bad, f"{path.relative_to(PKG)} imports {bad}: use cases are pure (front ends and storage call them)"


def _adapter_files() -> list[Path]:
    return sorted(p for sub in ADAPTERS for p in (PKG / sub).rglob("*.py"))


def _sideways() -> set[tuple[str, str]]:
    found = set()
    for path in _adapter_files():
        own = path.relative_to(PKG).parts[0]
        for other in _painpath_imports(path) & (set(ADAPTERS) | {"asgi"}) - {own}:
            found.add((str(path.relative_to(PKG)), other))
    return found


def test_front_ends_do_not_import_each_other() -> None:
    found = _sideways()
    # api/app.py is a compatibility alias of painpath.asgi, the app factory (kept for existing imports)
    unexpected = found - SIDEWAYS_ALLOWED - {("api/app.py", "asgi")}
    assert not unexpected, f"sideways imports between front ends (share via painpath.http instead): {sorted(unexpected)}"
    assert not SIDEWAYS_ALLOWED - found, f"no longer needed, remove from SIDEWAYS_ALLOWED: {sorted(SIDEWAYS_ALLOWED - found)}"


def test_the_import_checker_sees_painpath_imports(tmp_path: Path) -> None:
    p = tmp_path / "m.py"
    p.write_text("import painpath.storage.db\nfrom painpath import api\nfrom painpath.fhir.codes import X\n"
                 "import numpy\ndef f():\n    from ..cli import main\n    from . import render\n"
                 "    from .. import domain\n")
    assert _painpath_imports(p, package=("web",)) == {"storage", "api", "fhir", "cli", "web", "domain"}


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    p = tmp_path / "m.py"
    p.write_text("import os\nfrom rich.console import Console\n\ndef f():\n    import typer.testing\n    from . import x\n")
    assert _imports(p) == {"os", "rich", "typer"}


def test_importing_the_core_loads_no_framework() -> None:
    code = (
        "import sys\n"
        "import painpath, painpath.kb, painpath.engine, painpath.interview, painpath.bench.simulate, painpath.careplan\n"
        "import painpath.messages\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r})\n"
        "print(','.join(bad))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""
