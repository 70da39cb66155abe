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


def test_an_argument_moved_into_a_dict_argument(tables, monkeypatch):
    base = f"{_Base.__module__}.{_Base.__qualname__}"
    monkeypatch.setattr(legacy, "ARGUMENTS", {(base, "scale"): "data_info.temporal_scale",
                                              (base, "data_info.dataset"): "data_info.benchmark"})
    recorded = {"classes": ["a"], "dataset": "thumos"}
    with pytest.warns(FutureWarning, match="data_info\\['temporal_scale'\\], which the DataModule gives"):
        out = legacy.rename_arguments(_Child, {"scale": 256, "data_info": recorded, "x": 1})
    assert out == {"data_info": {"classes": ["a"], "benchmark": "thumos", "temporal_scale": 256}, "x": 1}
    assert recorded == {"classes": ["a"], "dataset": "thumos"}  # the caller's dict (a checkpoint's) is not changed
    # an old and a new spelling of one value are one value; two values are an error
    same = legacy.rename_arguments(_Child, {"scale": 256, "data_info": {"temporal_scale": 256}})
    assert same == {"data_info": {"temporal_scale": 256}}
    with pytest.raises(TypeError, match="both 'scale'"):
        legacy.rename_arguments(_Child, {"scale": 256, "data_info": {"temporal_scale": 100}})


class _Built(metaclass=legacy.LegacyArguments):
    def __init__(self, path="x", benchmark="a", data_info=None):
        self.path, self.benchmark, self.data_info = path, benchmark, data_info


class _Thumos(_Built):
    pass


def test_the_metaclass_applies_the_tables_wherever_the_class_is_built(monkeypatch):
    built = f"{__name__}._Built"
    monkeypatch.setattr(legacy, "ARGUMENTS", {(built, "dataset"): "benchmark"})
    monkeypatch.setattr(legacy, "CLASS_BY_ARGUMENT", {(built, "flavour", "thumos"): f"{__name__}._Thumos"})
    monkeypatch.setattr(legacy, "REMOVED_ARGUMENTS", {(f"{__name__}._Thumos", "flavour"): "thumos"})
    monkeypatch.setattr(legacy, "_warned", set())
    with pytest.warns(FutureWarning, match="dataset"):
        obj = _Built("p", dataset="b")
    assert type(obj) is _Built and (obj.path, obj.benchmark) == ("p", "b")
    with pytest.warns(FutureWarning, match="flavour"):
        obj = _Built("q", flavour="thumos")
    assert type(obj) is _Thumos and obj.path == "q"
    with pytest.raises(TypeError, match="flavour='other' is not possible"):
        _Thumos(flavour="other")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _Built("r", benchmark="c").benchmark == "c"  # current names: untouched, silent
