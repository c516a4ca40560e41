"""The two lock files: serving needs only the runtime dependencies, at the versions the tests ran with."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[@(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-").replace(".", "-")


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _sep, version = line.partition("==")
            assert version, f"{path.name}: not an exact pin: {line}"
            pins[_name(name)] = version.strip()
    return pins


def test_runtime_lock_is_lean_and_agrees_with_the_test_lock() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    run, full = _pins(REPO / "requirements-run.lock"), _pins(REPO / "requirements.lock")
    runtime = {_name(r) for r in project["dependencies"]}
    assert runtime <= set(run), f"runtime dependencies missing from requirements-run.lock: {runtime - set(run)}"
    extras = {_name(r) for group in project["optional-dependencies"].values() for r in group} - {"painpath"}
    assert not extras & set(run), f"test/batch/report packages in the runtime lock: {extras & set(run)}"
    for heavy in ("playwright", "polars", "pyarrow", "dask", "pandas", "pytest", "matplotlib"):
        assert heavy not in run and heavy in full, heavy
    assert run.items() <= full.items(), {k: (v, full.get(k)) for k, v in run.items() if full.get(k) != v}
    assert extras <= set(full), extras - set(full)
