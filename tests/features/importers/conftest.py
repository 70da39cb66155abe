"""Fixture of the import tests: the ``bsp-lightning features`` command run in-process."""

from __future__ import annotations

import pytest

from bsp_lightning.features.importers.cli import main


@pytest.fixture
def run(capsys):
    """``run(*argv)`` -> (exit code, stdout, stderr) of ``bsp-lightning features ...``."""

    def call(*argv):
        code = main([str(a) for a in argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return call
