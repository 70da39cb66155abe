from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from bsp_lightning import plugins


def test_load_head_resolves_a_registered_entry_point(monkeypatch):
    fake = EntryPoint(name="json_head", value="json", group=plugins.HEADS_GROUP)
    monkeypatch.setattr(plugins, "available_heads", lambda: {"json_head": fake})
    import json

    assert plugins.load_head("json_head") is json


def test_unknown_head_names_the_installed_ones(monkeypatch):
    monkeypatch.setattr(plugins, "available_heads", lambda: {"gtad": None})
    with pytest.raises(KeyError, match="installed: gtad"):
        plugins.load_head("lgi")
