"""Fixtures for care-plan tests."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the packaged care-plan data directory."""
    src = resources.files("painpath.careplan") / "data"
    dest = tmp_path / "data"
    with resources.as_file(src) as path:
        shutil.copytree(path, dest)
    return dest
