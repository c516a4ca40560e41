"""The public API of the painpath package."""

from __future__ import annotations

import painpath


def test_all_is_sorted_and_unique() -> None:
    assert list(painpath.__all__) == sorted(painpath.__all__)
    assert len(set(painpath.__all__)) == len(painpath.__all__)


def test_every_name_exists() -> None:
    missing = [n for n in painpath.__all__ if not hasattr(painpath, n)]
    assert not missing


def test_star_import() -> None:
    ns: dict[str, object] = {}
    exec("from painpath import *", ns)  # noqa: S102
    assert set(painpath.__all__) <= set(ns)


def test_core_entry_points_are_public() -> None:
    for name in ("assess", "assess_many", "load_kb", "KnowledgeBaseError", "CaseError", "PainPathError", "Case"):
        assert name in painpath.__all__
    assert issubclass(painpath.KnowledgeBaseError, painpath.PainPathError)
    assert issubclass(painpath.CaseError, painpath.PainPathError)
    assert isinstance(painpath.__version__, str)
