"""The one way tests run the `hrdd` command: in-process (fast) or as a real child process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner


def hrdd(args: list, data_dir: Path | None, cwd: Path, stdin: str | None = None,
         env: dict | None = None):
    """`hrdd ARGS` in-process against `data_dir`, from `cwd` (so no stray .env applies).

    No language model unless `env` names one, and a wide terminal so Rich does not wrap.
    """
    from ui.cli import app

    variables = {"COLUMNS": "400", "HRDD_LLM_PROVIDER": "none"}
    if data_dir is not None:
        variables["HRDD_DATA_DIR"] = str(data_dir)
    variables.update(env or {})
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        return CliRunner().invoke(app, [str(a) for a in args], input=stdin, env=variables)


def hrdd_command() -> list[str]:
    """The installed `hrdd` script beside this interpreter, else `python -m ui.cli`."""
    script = Path(sys.executable).with_name("hrdd")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ui.cli"]


def succeeded(result):
    """The result of a command that must have exited 0 (its output shown if not)."""
    assert result.exit_code == 0, result.output
    return result
