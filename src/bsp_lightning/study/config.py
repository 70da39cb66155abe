"""What a study runs: the toy data, the pre-training variants with their equal budget, the feature sets, the heads.

Three presets: ``quick`` (one seed, tiny data and budgets: what the tests run), ``default`` and ``full`` (the
default plus the two-head and distillation variants of Table 5 and the binary pretexts of Table 4). Every stage's
part of the configuration is hashed, so a later run reuses exactly the stages whose configuration is unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = [
    "CHANGES_AFTER_RESULTS",
    "FEATURE_SETS",
    "FLOORS",
    "FULL_COMPARISONS",
    "PAPER_ORDER",
    "PRETRAIN_VARIANTS",
    "SENSITIVITY_COMPARISONS",
    "StudyConfig",
    "comparisons",
    "preset",
    "stage_hash",
]

#: Pre-training variants: command-line arguments on top of the packaged ``toy`` config (``data.mode`` and model).
PRETRAIN_VARIANTS: dict[str, list[str]] = {
    # action classification learns at a quarter of the toy config's rate (0.002 per 128 clips = 2.5e-4 at batch 16):
    # at 0.008 or 0.004 it stayed at 62-68 % validation accuracy in the budget (world v2, CHANGES_AFTER_RESULTS)
    "vanilla": ["--model=VanillaModule", "--data.mode=action", "--model.lr=0.002"],
    "bsp": ["--model=BSPModule", "--data.mode=bsp"],
    "two_head": ["--model=TwoHeadModule", "--data.mode=bsp"],
    "bsp_speed": ["--model=BSPModule", "--data.mode=bsp", "--data.boundary_types=[diff_speed, same_speed]"],
    "bsp_class": ["--model=BSPModule", "--data.mode=bsp", "--data.boundary_types=[diff_class, same_class]"],
    "distillation": ["--model=DistillationModule", "--data.mode=action", "--model.lr=0.002"],
}

#: Feature set name -> the backbones whose features are concatenated (``random`` is an untrained TSM-R18).
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "random": ("random",),
    "vanilla": ("vanilla",),
    "bsp": ("bsp",),
    "vanilla+bsp": ("vanilla", "bsp"),
    "two_head": ("two_head",),
    "bsp_speed": ("bsp_speed",),
    "bsp_class": ("bsp_class",),
    "distillation": ("distillation",),
}

#: The paper's ordering (Tables 1-5): random < BSP < vanilla <= vanilla+BSP.
PAPER_ORDER = ("random", "bsp", "vanilla", "vanilla+bsp")

#: The comparisons ``(earlier, later)`` of ``--full`` beyond :data:`PAPER_ORDER`: Table 4 (each pretext beats random
#: init; the speed pretext beats the class one; 4-way beats both binary ones; vanilla beats BSP alone) and Table 5
#: (distillation beats two-head; two-stream beats distillation).
FULL_COMPARISONS = (("random", "bsp_class"), ("bsp_class", "bsp_speed"), ("bsp_speed", "bsp"),
                    ("two_head", "distillation"), ("distillation", "vanilla+bsp"))

#: Fig. 4: BSP features are more boundary-sensitive than vanilla ones.
SENSITIVITY_COMPARISONS = (("vanilla", "bsp"),)

#: Each pre-training variant's task (for results.md) and pretext floors ``(validation metric, minimum)``: a
#: backbone below a floor is under-trained, and every comparison that uses it is "not decided".
FLOORS: dict[str, tuple[str, tuple[tuple[str, float], ...]]] = {
    "vanilla": ("action, 10 classes", (("val/acc", 0.80),)),
    "bsp": ("boundary, 4-way", (("val/acc", 0.70),)),
    "bsp_speed": ("boundary, binary: diff/same speed", (("val/acc", 0.85),)),
    "bsp_class": ("boundary, binary: diff/same class", (("val/acc", 0.85),)),
    "two_head": ("boundary 4-way + action", (("val/acc", 0.70), ("val/action_acc", 0.80))),
    "distillation": ("distillation + action", (("val/acc", 0.80),)),
}

#: Parameters of the toy world or the budgets changed after seeing study results, with the reason: results.md lists
#: them (the study must never be tuned towards the paper's ordering; a change made to reach a pretext floor or a
#: time budget is recorded here).
CHANGES_AFTER_RESULTS: tuple[tuple[str, str], ...] = (
    ("toy-kinetics clips without idle distractors (untrimmed videos keep 0-2)",
     "vanilla pre-training stayed at 34 % validation accuracy with them in the toy budget, 76 % without (pretext "
     "floor; no head result was seen)"),
    ("`toy` config: decode at 32 px (`short_side: 32`), crops of 60-100 % area, no horizontal flip",
     "validation saw a 32 px centre crop of the 64 px frames (a quarter of the picture, often without the actor), "
     "smaller crops dropped the actor, and a mirrored clip is another toy class (moving left/right, spinning "
     "clockwise/anticlockwise); seen on pretext accuracy, not on head results"),
    ("default preset: pre-training 20 epochs x 640 clips (was 6 x 480), head runs 2 seeds x 20 s (was 3 x 25 s), "
     "250 toy-untrimmed videos split 50/10/40 % (was 150 split 60/20/20 %)",
     "BSP 4-way ended at 37.5 % validation accuracy in the old budget (floor 70 %); the main job's recipe passes "
     "the floor on world v2. The head runs were cut to keep the 30-minute budget, and the test split enlarged "
     "for the 3-point interval target. Decided on pretext accuracies, time and interval widths, not on the ordering"),
    ("toy world v3: every shape carries a dark marker off its centre, orbits turn at 0.35 rad per frame (was 0.2), "
     "zigzags wiggle at 0.6 rad per frame (was 0.35)",
     "the vanilla backbone's validation confusion matrix (world v2, 192 clips per class): the two spins confused in "
     "18 of 70 clips (a square or cross looks the same after a quarter turn), 11 of 34 orbits taken for straight "
     "moves (a clip showed a short arc), 7 of 28 zigzags for moving right. Each class must be decidable from the "
     "frames; decided on the pretext confusion matrix. The world v2 head results (previous README) had been seen; "
     "this change does not aim at them"),
    ("default preset: 192 toy-kinetics training clips per class (was 24); the vanilla and distillation variants "
     "learn at lr 0.002 per 128 clips (the toy config's 0.008 stays for the boundary variants); 500 toy-untrimmed "
     "videos split 40/10/50 % (was 250 split 50/10/40 %); then 550 videos",
     "vanilla memorised its 240 training clips (94.7 % train, 21.9 % validation; floor 80 %); with 192 clips per "
     "class and lr 0.002 it reached 75.5 % on world v2 and 82.3 % on world v3 (lr 0.008 and 0.004: 62-68 %). The "
     "test split grew from 100 to 250 videos because the headline half-widths were up to 4.7 points (target 3), "
     "then to 275 because one was still 3.04 (actionness AP on BSP features). "
     "Decided on pretext accuracy and interval widths, not on the ordering"),
    ("G-TAD labels its detections with oracle video-level class scores (the classes each video contains), the same "
     "for every feature set, instead of a classifier trained on the features under test",
     "the official G-TAD takes ActivityNet labels from an external classifier (CUHK's scores), never from its own "
     "features; with its own classifier G-TAD's mAP measured whether features classify (world v2: the top-2 labels "
     "were at chance, 0.14-0.21 precision against 0.18, so every feature set scored about 0.05 % average mAP). "
     "Seen on G-TAD's label precision and on the world v3 results, where vanilla (which classifies) led BSP"),
)


def comparisons(feature_sets: tuple[str, ...]) -> list[tuple[str, str]]:
    """The ordering comparisons among ``feature_sets``: consecutive pairs of :data:`PAPER_ORDER`, then
    :data:`FULL_COMPARISONS`."""
    pairs = [p for p in zip(PAPER_ORDER, PAPER_ORDER[1:]) if set(p) <= set(feature_sets)]
    return pairs + [p for p in FULL_COMPARISONS if set(p) <= set(feature_sets)]


@dataclass(frozen=True)
class StudyConfig:
    """A study's whole configuration (see :func:`preset`).

    Attributes:
        name: the preset it came from.
        seeds: head training seeds (each head is trained and tested once per seed and feature set).
        toy_seed: seed of the toy data and of the pre-training runs.
        kinetics: keyword arguments of :func:`bsp_lightning.data.toy.write_toy_kinetics`.
        untrimmed: keyword arguments of :func:`bsp_lightning.data.toy.write_toy_untrimmed`.
        pretrain: the equal budget of every pre-training variant: ``max_epochs``, ``samples_per_epoch``,
            ``val_samples``, ``batch_size``, ``num_workers``.
        variants: pre-training variants (keys of :data:`PRETRAIN_VARIANTS`).
        feature_sets: feature sets given to the heads (keys of :data:`FEATURE_SETS`).
        head_epochs: ``--trainer.max_epochs`` of every head run (``None``: the head's toy config).
        head_max_time: ``--trainer.max_time`` of every head run (``DD:HH:MM:SS``; ``None``: no limit).
        extract_batch_size: snippets per forward pass in extraction.
        heads: the heads to run (``None``: every installed head with a toy config).
        bootstrap: resamples of the test videos for every interval.
    """

    name: str
    seeds: tuple[int, ...]
    toy_seed: int
    kinetics: dict[str, Any]
    untrimmed: dict[str, Any]
    pretrain: dict[str, Any]
    variants: tuple[str, ...] = ("vanilla", "bsp")
    feature_sets: tuple[str, ...] = PAPER_ORDER
    head_epochs: int | None = None
    head_max_time: str | None = None
    extract_batch_size: int = 64
    heads: tuple[str, ...] | None = field(default=None)
    bootstrap: int = 1000

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


def stage_hash(*parts: Any) -> str:
    """16 hex digits identifying a stage's configuration (JSON of ``parts``, keys sorted)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def preset(name: str = "default", full: bool = False, seeds: int | None = None, toy_seed: int = 0) -> StudyConfig:
    """The ``quick`` or ``default`` preset, with the Table 4/5 variants when ``full``.

    Args:
        name: ``"quick"`` or ``"default"``.
        full: add the Table 4/5 variants.
        seeds: number of head seeds (default: the preset's).
        toy_seed: another toy world drawn from the same rules (data and pre-training seed).

    Raises:
        ValueError: unknown preset name.
    """
    untrimmed = {"size": 32, "num_classes": 10, "duration": (10.0, 30.0), "instance_duration": (2.0, 6.0),
                 "max_instances": 4, "val_fraction": 0.2, "test_fraction": 0.2, "fps": 10, "layout": "tasks",
                 "frame_step": 2, "glove_dim": 300}
    kinetics = {"size": 64, "num_classes": 10, "num_frames": 60, "fps": 25}
    if name == "quick":
        config = StudyConfig(
            name="quick", seeds=(0,), toy_seed=0,
            kinetics={**kinetics, "train_per_class": 8, "val_per_class": 2},
            untrimmed={**untrimmed, "num_videos": 60, "duration": (8.0, 16.0)},
            pretrain={"max_epochs": 2, "samples_per_epoch": 96, "val_samples": 32, "batch_size": 16,
                      "num_workers": 1},
            head_epochs=3, head_max_time="00:00:00:20",
        )
    elif name == "default":
        config = StudyConfig(
            name="default", seeds=(0, 1), toy_seed=0,
            # 192 training clips per class: with the toy default of 24 the vanilla backbone memorised its 240 clips
            # (94.7 % train, 21.9 % validation accuracy)
            kinetics={**kinetics, "train_per_class": 192, "val_per_class": 6},
            # 275 test videos: the headline intervals shrink with the square root of the test videos (100 gave
            # half-widths up to 4.7 points, 250 up to 3.04); training videos matter less, the head runs being
            # time-capped
            untrimmed={**untrimmed, "num_videos": 550, "val_fraction": 0.1, "test_fraction": 0.5},
            # the main job's recipe (`bsp-lightning fit --config toy`): 20 epochs x 640 clips, the budget in which
            # BSP 4-way passes its floor on world v2; 192 validation clips measure the floors to a few points
            pretrain={"max_epochs": 20, "samples_per_epoch": 640, "val_samples": 192, "batch_size": 16,
                      "num_workers": 2},
            # two seeds of 20 s (8 epochs at most) per head run keep the preset within 30 minutes on 2 cores
            head_epochs=8, head_max_time="00:00:00:20",
        )
    else:
        raise ValueError(f"unknown study preset {name!r} (quick, default)")
    if full:
        extra = ("two_head", "bsp_speed", "bsp_class", "distillation")
        config = replace(config, variants=config.variants + extra, feature_sets=config.feature_sets + extra)
    if seeds is not None:
        config = replace(config, seeds=tuple(range(seeds)))
    return replace(config, toy_seed=int(toy_seed))
