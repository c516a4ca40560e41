"""CLI argument lists (in-process with Typer's CliRunner): exit code 0, 1 or 2 and never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz import harness

COMMANDS = ["assess", "evaluate", "batch", "followup", "kb check"]
BUDGET = {"kb check": 10}  # each run loads and checks the whole knowledge base (~0.5 s)


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory: pytest.TempPathFactory) -> harness.CliFiles:
    return harness.CliFiles(tmp_path_factory.mktemp("fuzz-cli"))


def test_every_command_is_fuzzed() -> None:
    from painpath.cli import app

    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    assert {"assess", "evaluate", "followup"} <= names
    fuzzed = {name.split()[0] for name in COMMANDS}
    # the commands that parse files given on the command line (interview and serve take no file)
    assert names - fuzzed <= {"serve", "interview"}, names - fuzzed


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_arguments(cli_files: harness.CliFiles, command: str) -> None:
    (target,) = [t for t in harness.cli_targets(cli_files) if t.name == f"cli {command}"]
    harness.run(target, harness.budget(BUDGET.get(command, 25)))


def test_prepared_files_exist(cli_files: harness.CliFiles) -> None:
    for name in cli_files.inputs:
        if name != "missing.yaml":
            assert (Path(cli_files.root) / name).exists(), name
