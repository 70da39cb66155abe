"""The ``bsp-lightning`` dispatcher."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bsp_lightning import cli


def test_help_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in (*cli.LIGHTNING_SUBCOMMANDS, *cli.COMMANDS):
        assert name in out


def test_unknown_command_is_a_usage_error(capsys):
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_tool_target_resolves(name):
    assert callable(cli._load(cli.COMMANDS[name][0]))


def test_console_script_is_installed():
    out = subprocess.run(
        [sys.executable, "-m", "bsp_lightning.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().startswith("bsp-lightning ")


def test_output_piped_into_head_ends_without_a_traceback():
    import subprocess

    proc = subprocess.run("bsp-lightning configs | head -n 1", shell=True, capture_output=True, text=True,
                          timeout=300)
    assert proc.stdout.count("\n") == 1 and "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
