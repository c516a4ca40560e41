"""Case files, interview states and batch CSV: arbitrary input is parsed or refused with the documented error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz import harness


@pytest.mark.parametrize("name", ["cases.parse_case", "cases.load_case"])
def test_case_files_raise_only_case_error(tmp_path: Path, name: str) -> None:
    (target,) = [t for t in harness.case_targets(tmp_path) if t.name == name]
    harness.run(target, harness.budget(150))


def test_interview_state_raises_only_validation_or_case_errors() -> None:
    (target,) = harness.interview_targets()
    harness.run(target, harness.budget(100))


def test_batch_csv_is_scored_or_refused_cleanly(tmp_path: Path) -> None:
    targets = harness.batch_targets(tmp_path)
    if not targets:
        pytest.skip("the batch extra (polars, pyarrow) is not installed")
    harness.run(targets[0], harness.budget(40))


def test_knowledge_base_files_raise_only_knowledge_base_error(tmp_path: Path) -> None:
    (target,) = harness.kb_targets(tmp_path)
    harness.run(target, harness.budget(40))
