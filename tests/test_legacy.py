"""The table of old names: class paths, arguments, warn-once."""

import warnings

import pytest

from bsp_lightning import legacy


class _Base:
    pass


class _Child(_Base):
    pass


@pytest.fixture
def tables(monkeypatch):
    monkeypatch.setattr(legacy, "CLASS_PATHS", {"old.place.Thing": f"{__name__}._Child"})
    base = f"{_Base.__module__}.{_Base.__qualname__}"
    monkeypatch.setattr(legacy, "ARGUMENTS", {(base, "dataset"): "benchmark"})
    monkeypatch.setattr(legacy, "_warned", set())


def test_old_class_path_resolves_and_warns_once(tables):
    with pytest.warns(FutureWarning, match="old.place.Thing"):
        assert legacy.import_class("old.place:Thing") is _Child
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert legacy.import_class("old.place.Thing") is _Child  # second use: silent


def test_current_class_path_is_untouched(tables):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert legacy.resolve_class_path(f"{__name__}:_Base") == f"{__name__}._Base"


def test_unknown_class_is_an_import_error(tables):
    with pytest.raises(ImportError, match="nowhere.Nothing"):
        legacy.import_class("nowhere.Nothing")


def test_argument_of_a_base_class_is_renamed_for_a_subclass(tables):
    with pytest.warns(FutureWarning, match="dataset"):
        assert legacy.rename_arguments(_Child, {"dataset": "thumos", "x": 1}) == {"benchmark": "thumos", "x": 1}
    assert legacy.rename_arguments(_Child, {"benchmark": "a"}) == {"benchmark": "a"}


def test_old_and_new_argument_together_is_an_error(tables):
    with pytest.raises(TypeError, match="both 'dataset'"):
        legacy.rename_arguments(_Child, {"dataset": "a", "benchmark": "b"})
