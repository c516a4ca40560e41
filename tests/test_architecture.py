"""The layers depend only downward (docs/architecture.md).

* The domain core (kb, engine, interview, careplan, the vocabulary in painpath.domain and the message ids in
  painpath.messages) imports no web, database, template, PDF, migration, translation or terminal library,
  and none of PainPath's adapters.
* The application layer (painpath.services) imports neither frameworks nor storage nor front ends.
* Storage is a repository (load, save, visibility, audit, transactions): it imports no use case of
  painpath.services and no front end, and takes only data types from painpath.interview (no step: start,
  answer, withdraw, next_step, validation); the use cases reach it through services.stored.AssessmentRepository.
* The level is decided in one place, painpath.services.final_level (plus the engine's own triage): no other
  code raises a level (``more_urgent``, or ``max``/``min`` over levels or ranks).
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


@pytest.mark.parametrize("path", sorted((PKG / "storage").rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_storage_makes_no_domain_decision_and_imports_no_use_case_or_front_end(path: Path) -> None:
    bad = sorted(f"painpath.{m}" for m in _painpath_imports(path) & {"services", "http", "asgi", *ADAPTERS})
    assert not bad, f"{path.relative_to(PKG)} imports {bad}: storage is called by the use cases, never calls them"


#: What storage may take from painpath.interview: the data it stores, never a step of the interview (start,
#: answer, withdraw, next_step, validation such as no_pain_anywhere): those are use cases (services.stored).
INTERVIEW_DATA = {"InterviewState", "Step", "Answer"}


def _interview_names(source: str) -> set[str]:
    """Names a module takes from painpath.interview (``import painpath.interview...`` counts as all of it)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("painpath.interview"):
            out.update(f"{node.module}.{a.name}" if node.module != "painpath.interview" else a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("painpath.interview"))
    return out


@pytest.mark.parametrize("path", sorted((PKG / "storage").rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_storage_takes_only_data_from_the_interview_no_step(path: Path) -> None:
    bad = sorted(_interview_names(path.read_text(encoding="utf-8")) - INTERVIEW_DATA)
    assert not bad, (f"{path.relative_to(PKG)} imports {bad} from painpath.interview: creating, answering and "
                     "withdrawing are use cases (painpath.services.stored), storage only stores the state")


def test_the_interview_import_check_finds_steps() -> None:
    """The check above flags what storage used to import (before the use cases moved to services.stored)."""
    old = ("from painpath.interview import InterviewState, Step, answer, next_step, start, withdraw\n"
           "from painpath.interview.policy import validate_state\n"
           "from painpath.interview.state import no_pain_anywhere\nimport painpath.interview.state\n")
    assert _interview_names(old) - INTERVIEW_DATA == {
        "answer", "next_step", "start", "withdraw", "painpath.interview.policy.validate_state",
        "painpath.interview.state.no_pain_anywhere", "painpath.interview.state"}


def test_the_storage_repository_is_the_one_the_use_cases_expect() -> None:
    """AssessmentStore has every method of the services' AssessmentRepository (mypy checks the types at the
    call sites; this catches a method renamed on one side only)."""
    from painpath.services.stored import AssessmentRepository
    from painpath.storage.assessments import AssessmentStore

    wanted = {n for n in vars(AssessmentRepository) if not n.startswith("_")}
    assert wanted >= {"load", "save_conclusion", "create_followup", "create", "save_state"}
    assert wanted <= set(dir(AssessmentStore)), sorted(wanted - set(dir(AssessmentStore)))


#: Where a level may be raised: the one decision (services.final_level) and the engine's triage (floors,
#: escalations and condition risk, over NumPy rank arrays).
LEVEL_DECIDERS = {("services/conclude.py", "final_level")}
LEVEL_ENGINE = "engine/"
_LEVEL_NAMES = {"Level", "_Level", "LEVEL_RANK", "RANK_LEVEL", "level_rank", "rank"}


def _level_raises(path: Path) -> list[tuple[str, str, int]]:
    """(file, enclosing function, line) of every call that raises or lowers a level: ``more_urgent(...)``, or
    ``max``/``min``/``np.maximum``/``np.minimum`` over something naming a level or a rank."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []

    def visit(node: ast.AST, func: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            func = node.name
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            named = {n.id for a in node.args for n in ast.walk(a) if isinstance(n, ast.Name)} | {
                n.attr for a in node.args for n in ast.walk(a) if isinstance(n, ast.Attribute)}
            levels = any(n in _LEVEL_NAMES or n.endswith("_rank") for n in named)
            if name == "more_urgent" or (name in ("max", "min", "maximum", "minimum") and levels):
                out.append((str(path.relative_to(PKG)) if path.is_relative_to(PKG) else path.name, func, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, func)

    visit(tree, "<module>")
    return out


def test_the_level_is_decided_only_in_final_level() -> None:
    found = [r for p in sorted(PKG.rglob("*.py")) for r in _level_raises(p)]
    assert {(f, fn) for f, fn, _ in found if not f.startswith(LEVEL_ENGINE)} == LEVEL_DECIDERS, (
        f"a level raised outside services.final_level: {[r for r in found if (r[0], r[1]) not in LEVEL_DECIDERS]}")
    assert any(f.startswith(LEVEL_ENGINE) for f, _, _ in found)  # the engine's floors are seen (the check works)


def test_the_level_checker_sees_raises(tmp_path: Path) -> None:
    p = tmp_path / "m.py"
    p.write_text("def f(a, b):\n    x = more_urgent(a, b)\n    return max(Level.parse(a), x)\n"
                 "def g(p, q):\n    return max(p, q) + np.maximum(q, floor_rank)\n")
    assert [(fn, line) for _, fn, line in _level_raises(p)] == [("f", 2), ("f", 3), ("g", 5)]


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
