"""The reproduction recipes of the heads' READMEs, and ``bsp-lightning features example`` that runs them in miniature.

A :class:`Recipe` is the exact command lines a head README prints under "Reproduce the official result" (a test
checks the README holds them verbatim). ``features example RECIPE --out DIR`` writes tiny synthetic stand-ins for
the release files under their real names (:mod:`.example_data`), then runs those same lines in ``DIR``: the
``features import`` line as it is, ``fit`` and ``test`` with the official config swapped for the head's toy
config and a few epochs (the official configs need hours on a GPU). So the recipe's file names, flags and the
hand-over from import to the head are what is tested; the numbers are not the benchmark's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bsp_lightning.features.importers import example_data

__all__ = ["RECIPES", "Recipe", "add_example_parser", "run_example", "run_recipe"]


@dataclass(frozen=True)
class Recipe:
    """One reproduction recipe.

    Attributes:
        head: the head package (``gtad``, ``tan2d``, ``lgi``).
        commands: the shell lines, each starting with ``bsp-lightning``.
        published: the number to expect and its source.
        write_example: writes the synthetic stand-in files into a folder.
        swap: official config -> the toy config the example runs instead.
        example_args: added to the example's ``fit``/``test`` lines.
    """

    head: str
    commands: tuple[str, ...]
    published: str
    write_example: Callable[[Path], None]
    swap: tuple[str, str]
    example_args: tuple[str, ...] = ()


def _lines(features: str, config: str, data: str, extra: str = "", ckpt: str = "best") -> tuple[str, str]:
    args = f"--config {config} --data.features {features} {data}{extra}"
    return f"bsp-lightning fit {args}", f"bsp-lightning test {args} --ckpt_path {ckpt}"


_ANET = "--data.annotations activity_net.v1-3.min.json"
_CUHK = " --model.class_scores cuhk_val_simp_share.json"
_THUMOS = ("--data.annotations TH14_Temporal_annotations_validation/annotation "
           "--data.test_annotations TH14_Temporal_Annotations_Test/annotations/annotation")
_CHARADES_2DTAN = "--data.annotations data/Charades-STA"
_GLOVE = " --model.glove glove.6B.300d.txt"
_CHARADES_LGI = "--data.annotations data/charades/annotations"
# the toy grounding configs read the toy data's file names; the recipes read the official ones
_STA_FILES = ("--data.init_args.train_file=charades_sta_train.txt", "--data.init_args.test_files=charades_sta_test.txt")
_STA_FILES_LGI = ("--data.init_args.train_file=charades_sta_train.txt",
                  "--data.init_args.test_files=charades_sta_test.txt", "--data.init_args.batch_size=4")
# the toy G-TAD config at THUMOS's window geometry in miniature (the official one is hours of CPU per epoch)
_THUMOS_SMALL = tuple(f"--{part}.init_args.{key}={value}" for part, key, value in (
    ("data", "temporal_scale", 32), ("data", "max_duration", 16), ("model", "hidden_1d", 32), ("model", "hidden_2d", 16), ("model", "hidden_3d", 32),
    ("model", "inner_points", 4), ("model", "context_points", 4), ("model", "groups", 8),
    ("data", "window_stride", 16), ("data", "tail_threshold", 3), ("data", "batch_size", 4),
    ("data", "num_workers", 0)))

RECIPES: dict[str, Recipe] = {
    "gtad-anet-tsn": Recipe(
        "gtad",
        ("bsp-lightning features import h5 data/activitynet_feature_cuhk/csv_mean_100.hdf5 --preset gtad-anet-tsn "
         "--video-info data/activitynet_annotations/video_info_new.csv --out features/anet_tsn",
         *_lines("features/anet_tsn", "gtad_anet", _ANET, _CUHK)),
        "G-TAD ActivityNet-1.3 validation, TSN two-stream: mAP 50.36 / 34.60 / 9.02 at tIoU 0.5 / 0.75 / 0.95, "
        "average 34.09 (G-TAD paper; BSP Table 1 row 'G-TAD [65]'; frostinassiky/gtad README)",
        example_data.write_gtad_anet, ("gtad_anet", "gtad_toy")),
    "gtad-anet-tsn-csv": Recipe(
        "gtad",
        ("bsp-lightning features import csv data/activitynet_feature_cuhk/csv_mean_100 --preset gtad-anet-tsn "
         "--video-info data/activitynet_annotations/anet_anno_action.json --out features/anet_tsn",
         *_lines("features/anet_tsn", "gtad_anet", _ANET, _CUHK)),
        "the same features as gtad-anet-tsn (BSN's per-video CSV tables; gtad #43), so the same numbers",
        partial(example_data.write_gtad_anet, csv_tables=True), ("gtad_anet", "gtad_toy")),
    "gtad-thumos-tsn": Recipe(
        "gtad",
        ("bsp-lightning features import thumos-tsn data/thumos_feature/TSN_pretrain_avepool_allfrms_hdf5 "
         "--out features/thumos_tsn",
         *_lines("features/thumos_tsn", "gtad_thumos14", _THUMOS, ckpt="last")),
        "G-TAD THUMOS-14 test, TSN: mAP 57.31 / 51.30 / 43.04 / 32.65 / 22.81 at tIoU 0.3-0.7 (frostinassiky/gtad "
        "README after its post-processing update; the paper's 54.5 / 47.6 / 40.2 / 30.8 / 23.4 predates it)",
        example_data.write_gtad_thumos, ("gtad_thumos14", "gtad_thumos14"), _THUMOS_SMALL),
    "tan2d-charades-vgg": Recipe(
        "tan2d",
        ("bsp-lightning features import h5 data/Charades-STA/vgg_rgb_features.hdf5 --preset tan2d-charades-vgg "
         "--video-info data/Charades-STA/Charades_v1_train.csv data/Charades-STA/Charades_v1_test.csv "
         "--out features/charades_vgg",
         *_lines("features/charades_vgg", "tan2d_charades", _CHARADES_2DTAN, _GLOVE)),
        "2D-TAN conv, Charades-STA VGG: R1@0.5 42.80, R1@0.7 23.25, R5@0.5 80.54, R5@0.7 54.14 (microsoft/2D-TAN "
        "README after the feature-order fix; = BSP Table 2 row '2D-TAN [74]')",
        partial(example_data.write_charades, release="vgg"), ("tan2d_charades", "tan2d_toy"),
        ("--model.word_embedding=glove", "--model.word_dim=300", *_STA_FILES)),
    "tan2d-charades-vgg-pool": Recipe(
        "tan2d",
        ("bsp-lightning features import h5 data/Charades-STA/vgg_rgb_features.hdf5 --preset tan2d-charades-vgg "
         "--video-info data/Charades-STA/Charades_v1_train.csv data/Charades-STA/Charades_v1_test.csv "
         "--out features/charades_vgg",
         *_lines("features/charades_vgg", "tan2d_charades_pool", _CHARADES_2DTAN, _GLOVE)),
        "2D-TAN pool, Charades-STA VGG: R1@0.5 40.94, R1@0.7 22.85, R5@0.5 83.84, R5@0.7 50.35 (microsoft/2D-TAN "
        "README after the feature-order fix)",
        partial(example_data.write_charades, release="vgg"), ("tan2d_charades_pool", "tan2d_toy"),
        ("--model.word_embedding=glove", "--model.word_dim=300", "--model.map_variant=pool", *_STA_FILES)),
    "lgi-charades-i3d": Recipe(
        "lgi",
        ("bsp-lightning features import npy data/charades/features/i3d_finetuned --preset lgi-charades-i3d "
         "--video-info data/charades/annotations/Charades_v1_train.csv data/charades/annotations/Charades_v1_test.csv "
         "--out features/charades_i3d",
         *_lines("features/charades_i3d", "lgi_charades", _CHARADES_LGI)),
        "LGI, Charades-STA I3D (Charades-finetuned): R@1 72.96 / 59.46 / 35.48 at IoU 0.3 / 0.5 / 0.7, mIoU 51.38 "
        "(LGI paper Table 1); the released checkpoint gives 72.18 / 59.17 / 35.32 / 50.93 (LGI README)",
        partial(example_data.write_charades, release="i3d"), ("lgi_charades", "lgi_toy"), _STA_FILES_LGI),
    "actionness-crosstask": Recipe(
        "actionness",
        ("bsp-lightning features import npy crosstask_features --preset crosstask --out features/crosstask",
         *_lines("features/crosstask", "actionness_crosstask", "--data.annotations crosstask_release")),
        "no published number for a linear classifier on the CrossTask release's own features; BSP Table 3 (AP): "
        "Kinetics TSM 46.9, + BSP 48.1; [80]'s linear classifier on its HowTo100M features (not released) 56.2",
        example_data.write_crosstask, ("actionness_crosstask", "actionness_toy")),
}


@contextlib.contextmanager
def _inside(folder: Path):
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def run_recipe(name: str, folder: str | Path, epochs: int = 2, echo: Callable[[str], None] = print) -> dict:
    """Write the stand-in files of recipe ``name`` into ``folder`` and run its commands there (see the module
    docstring); returns the test metrics (fractions).

    Raises:
        RuntimeError: a command failed (its exit code and line).
    """
    from bsp_lightning.cli import main as bsp_lightning_main  # the dispatcher: no import circle with importers.cli
    from bsp_lightning.lightning_cli import build_cli

    recipe = RECIPES[name]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    recipe.write_example(folder)
    results: dict = {}
    with _inside(folder):
        for line in recipe.commands:
            argv = shlex.split(line)[1:]
            if argv[0] == "features":
                echo(f"$ {line}")
                if bsp_lightning_main([*argv, "--no-progress"]) != 0:
                    raise RuntimeError(f"recipe {name}: failed: {line}")
                continue
            argv = [recipe.swap[1] if a == recipe.swap[0] else a for a in argv]
            argv += [*recipe.example_args, f"--trainer.max_epochs={epochs}", "--logger=none",
                     "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
            echo("$ bsp-lightning " + shlex.join(argv))
            cli = build_cli(argv)
            if argv[0] == "test":
                results = dict(cli.model.test_results)
    return results


def add_example_parser(sub) -> None:
    """The ``example`` subcommand of ``bsp-lightning features``."""
    listing = "\n".join(f"  {name:<24} {r.head}: {r.published.split(':')[0]}" for name, r in RECIPES.items())
    p = sub.add_parser(
        "example", help="run a README reproduction recipe end to end on tiny synthetic files",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write tiny synthetic files in a release's layout, under the names a head README's "
        "'Reproduce the official result' recipe uses, and run that recipe's commands on them: the import line as "
        "printed, fit/test with the head's toy config instead of the official one. Checks the recipe, not the "
        f"benchmark numbers.\n\nrecipes:\n{listing}",
    )
    p.add_argument("recipes", nargs="+", metavar="RECIPE", choices=[*RECIPES, "all"], help="recipe name(s) or all")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the files and runs (one sub-folder each)")
    p.add_argument("--epochs", type=int, default=2, help="training epochs of each example fit")


def run_example(args: argparse.Namespace) -> int:
    """``bsp-lightning features example``: 0 when every recipe ran, 1 otherwise."""
    names = list(RECIPES) if "all" in args.recipes else args.recipes
    failed = []
    for name in names:
        started = time.perf_counter()
        print(f"== {name} ({RECIPES[name].head}) in {Path(args.out) / name}")
        try:
            results = run_recipe(name, Path(args.out) / name, args.epochs)
        except Exception as err:  # report and go on with the next recipe
            print(f"== {name}: FAILED: {err}", file=sys.stderr)
            failed.append(name)
            continue
        shown = ", ".join(f"{k} {100 * v:.2f}" for k, v in sorted(results.items()))
        print(f"== {name}: ran in {time.perf_counter() - started:.0f} s; test {shown}\n"
              f"   (synthetic miniature; the real run should give: {RECIPES[name].published})")
    return 1 if failed else 0
