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


# ----------------------------------------------------------------------------- the library's own rows
def test_every_old_name_of_a_module_is_served_by_it_and_warns_once(monkeypatch):
    import importlib

    monkeypatch.setattr(legacy, "_warned", set())
    rows = {**legacy.FUNCTIONS, **legacy.CLASS_PATHS}
    assert rows
    for old, new in rows.items():
        module_name, _, name = old.rpartition(".")
        module = importlib.import_module(module_name)
        with pytest.warns(FutureWarning, match=f"{old}.*{new}"):
            served = getattr(module, name)
        assert served is legacy.import_object(new)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert getattr(module, name) is served
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        importlib.import_module("bsp_lightning.module").nothing_here


def test_the_regression_pretext_of_bspmodule_is_changepointmodule(monkeypatch):
    from bsp_lightning.module import BSPModule, ChangePointModule, VanillaModule

    monkeypatch.setattr(legacy, "_warned", set())
    with pytest.warns(FutureWarning) as record:
        cls, kwargs = legacy.migrate_init_args("bsp_lightning.module:BSPModule", {"pretext": "regression", "lr": 1})
    assert (cls, kwargs, len(record)) == (ChangePointModule, {"lr": 1}, 1)
    with pytest.warns(FutureWarning, match="pretext='classification'"):
        assert legacy.migrate_init_args("bsp_lightning.module.VanillaModule", {"pretext": "classification"}) == (
            VanillaModule, {})
    # ChangePointModule is nearer in its MRO than BSPModule: its own implied value decides
    with pytest.warns(FutureWarning):
        assert legacy.migrate_init_args(legacy.class_path(ChangePointModule), {"pretext": "regression"}) == (
            ChangePointModule, {})
    with pytest.raises(TypeError, match="ChangePointModule: pretext='classification' is not possible"):
        legacy.migrate_init_args(legacy.class_path(ChangePointModule), {"pretext": "classification"})
    with warnings.catch_warnings():  # current names: silent, unchanged
        warnings.simplefilter("error")
        assert legacy.migrate_init_args("bsp_lightning.module.BSPModule", {"lr": 2}) == (BSPModule, {"lr": 2})


def test_import_object_takes_the_longest_importable_module():
    from bsp_lightning.extract.writer import _EXIT_AFTER_ENV

    assert legacy.import_object("bsp_lightning.extract.writer._EXIT_AFTER_ENV") == _EXIT_AFTER_ENV
    assert legacy.import_object("bsp_lightning.legacy.warn_once") is legacy.warn_once
    with pytest.raises(ImportError, match="no_such_name"):
        legacy.import_object("bsp_lightning.legacy.no_such_name")
    with pytest.raises(ImportError, match="no such module"):
        legacy.import_object("no_such_package.x")
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
