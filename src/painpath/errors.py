"""PainPath's exception tree.

    PainPathError
    ├── KnowledgeBaseError     a knowledge-base file is missing, malformed or inconsistent
    └── CaseError              a case (file, dict or answer) is malformed; names the file and key
"""

from __future__ import annotations

__all__ = ["CaseError", "KnowledgeBaseError", "PainPathError"]


class PainPathError(Exception):
    """Base class of every error PainPath raises on purpose."""


class KnowledgeBaseError(PainPathError, ValueError):
    """The knowledge base failed validation. ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = problems[0] if problems else "invalid knowledge base"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(head + more)


class CaseError(PainPathError, ValueError):
    """A case could not be read. The message names the file (if any) and the key."""
