"""The command `serve`'s banner tells a new user to type for more tokens: one that works from where
they are (`make run` starts `.venv/bin/shelcaster-channels`, not on PATH outside an activated venv)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from commands.serve import command_as_typed


@pytest.fixture
def venv_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    command = tmp_path / ".venv" / "bin" / "shelcaster-channels"
    command.parent.mkdir(parents=True)
    command.write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(command), "serve"])
    return command


def test_make_runs_command_is_named_by_its_path_when_no_venv_is_active(
    venv_command: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert command_as_typed() == ".venv/bin/shelcaster-channels"


def test_the_bare_name_when_the_shell_finds_this_very_command(
    venv_command: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: str(venv_command))
    assert command_as_typed() == "shelcaster-channels"


def test_the_bare_name_when_started_as_a_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/somewhere/commands/cli.py", "serve"])
    assert command_as_typed() == "shelcaster-channels"
