"""The immutable, validated knowledge base and its loader."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from painpath.errors import KnowledgeBaseError
from painpath.kb.schema import (
    LEVELS,
    ConditionsFile,
    DependenceFile,
    FindingsFile,
    InterviewFile,
    ModelFile,
    PriorsFile,
    SourcesFile,
    StrengthsFile,
    TriageFile,
)

__all__ = ["FILES", "KnowledgeBase", "default_kb", "load_kb"]

FILES: dict[str, type[BaseModel]] = {
    "sources.yaml": SourcesFile,
    "conditions.yaml": ConditionsFile,
    "findings.yaml": FindingsFile,
    "strengths.yaml": StrengthsFile,
    "priors.yaml": PriorsFile,
    "dependence.yaml": DependenceFile,
    "triage.yaml": TriageFile,
    "model.yaml": ModelFile,
    "interview.yaml": InterviewFile,
}


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the engine knows, validated. ``version`` is a content hash."""

    sources: SourcesFile
    conditions: ConditionsFile
    findings: FindingsFile
    strengths: StrengthsFile
    priors: PriorsFile
    dependence: DependenceFile
    triage: TriageFile
    model: ModelFile
    interview: InterviewFile
    version: str
    path: str
    _index: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def condition_keys(self) -> list[str]:
        return list(self.conditions.conditions)

    @property
    def finding_keys(self) -> list[str]:
        return list(self.findings.findings)

    @property
    def levels(self) -> tuple[str, ...]:
        return LEVELS

    def strength(self, condition: str, finding: str) -> tuple[float, Any, bool]:
        """P(finding | condition), its Strength record, and whether it is explicit."""
        entry = self.strengths.strengths.get(condition, {}).get(finding)
        explicit = entry is not None
        if entry is None:
            entry = self.strengths.defaults[finding]
        p = entry.p if entry.p is not None else self.strengths.grades[entry.grade]  # type: ignore[index]  # the schema requires grade when p is not given
        return float(p), entry, explicit


def _format_validation_error(fname: str, exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        problems.append(f"{fname}: {loc}: {err['msg']}")
    return problems


def _read_dir(path: Path | None) -> tuple[dict[str, Any], list[str], str]:
    raw: dict[str, Any] = {}
    problems: list[str] = []
    digest = hashlib.sha256()
    base = resources.files("painpath.kb") / "data" if path is None else path
    for fname in FILES:
        node = base / fname
        try:
            text = node.read_text(encoding="utf-8")
        except (FileNotFoundError, OSError):
            problems.append(f"{fname}: file is missing")
            continue
        except UnicodeDecodeError as exc:
            problems.append(f"{fname}: not UTF-8 text ({exc.reason})")
            continue
        digest.update(fname.encode())
        digest.update(text.encode())
        try:
            raw[fname] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problems.append(f"{fname}:{where}: not valid YAML ({getattr(exc, 'problem', exc)})")
        except Exception as exc:  # noqa: BLE001 - PyYAML's constructors raise ValueError, IndexError, KeyError...
            problems.append(f"{fname}: not valid YAML ({exc})")  # on a bad tagged scalar (a date like 2020-99-99)
    return raw, problems, digest.hexdigest()[:12]


def load_kb(path: str | Path | None = None, *, check: bool = True) -> KnowledgeBase:
    """Load and validate the knowledge base (the shipped one when ``path`` is None).

    Raises ``KnowledgeBaseError`` listing every problem, each naming file and key.
    """
    from painpath.kb.checks import cross_file_problems

    p = Path(path) if path is not None else None
    raw, problems, version = _read_dir(p)
    parsed: dict[str, BaseModel] = {}
    for fname, model in FILES.items():
        if fname not in raw:
            continue
        try:
            parsed[fname] = model.model_validate(raw[fname])
        except ValidationError as exc:
            problems.extend(_format_validation_error(fname, exc))
    if problems:
        raise KnowledgeBaseError(problems)
    kb = KnowledgeBase(
        sources=parsed["sources.yaml"],  # type: ignore[arg-type]  # parsed with the model FILES gives for this file
        conditions=parsed["conditions.yaml"],  # type: ignore[arg-type]  # parsed with the model FILES gives for this file
        findings=parsed["findings.yaml"],  # type: ignore[arg-type]  # parsed with the model FILES gives for this file
        strengths=parsed["strengths.yaml"],  # type: ignore[arg-type]  # parsed with the model FILES gives for this file
        priors=parsed["priors.yaml"],  # type: ignore[arg-type]  # parsed with the model FILES gives for this file
        dependence=parsed["dependence.yaml"],  # type: ignore[arg-type]  # parsed with the model FILES gives for this file
        triage=parsed["triage.yaml"],  # type: ignore[arg-type]  # parsed with the model FILES gives for this file
        model=parsed["model.yaml"],  # type: ignore[arg-type]  # parsed with the model FILES gives for this file
        interview=parsed["interview.yaml"],  # type: ignore[arg-type]  # parsed with the model FILES gives for this file
        version=version,
        path=str(p) if p is not None else "painpath/kb/data",
    )
    if check:
        problems = cross_file_problems(kb)
        if problems:
            raise KnowledgeBaseError(problems)
    return kb


@cache
def default_kb() -> KnowledgeBase:
    """The shipped knowledge base, loaded and validated once per process."""
    return load_kb()
