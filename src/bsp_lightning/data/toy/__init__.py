"""Procedurally generated toy datasets: the embedded default data of bsp-lightning.

Nothing is downloaded: ``bsp-lightning toy-data --out DIR`` draws everything from a seed and writes real
H.264 mp4 files (``libx264``, ``yuv420p``) with PyAV, in the layouts of the real benchmarks::

    DIR/toy-kinetics/{train,val}/<label>/<ytid>_<start:06d>_<end:06d>.mp4    Kinetics folder layout
    DIR/toy-kinetics/{train,val}.csv                                      label,youtube_id,time_start,time_end,split
    DIR/toy-untrimmed/videos/<video_id>.mp4                               untrimmed videos
    DIR/toy-untrimmed/activity_net.json                                   ActivityNet-1.3 ground truth
    DIR/toy-untrimmed/toy_sta_{train,test}.txt, Charades_v1_{train,test}.csv   Charades-STA queries
    DIR/toy-untrimmed/crosstask_release/                                  CrossTask release folder
    DIR/toy-untrimmed/glove.toy.300d.txt                                  GloVe-format vectors of the toy words
    DIR/toy-untrimmed/splits.json                                         train/val/test split by video
    DIR/toy-untrimmed/boundaries.json                                     every annotated boundary and its kind

Toy world v3 (``TOY_DATA_VERSION``): a class is a motion (shape and colour are drawn per instance from pools
every class shares); actors are on screen the whole video and idle outside their instances, next to 0-2 idle
distractors; the untrimmed videos contain the boundary kinds BSP synthesises as annotated boundaries.

Modules: :mod:`.actions` (classes, appearance pools, words), :mod:`.scene` (shots and object tracks),
:mod:`.schedule` (instances, cuts and boundaries of an untrimmed video), :mod:`.render` (pixels and encoding),
:mod:`.storage` (staging and publishing a folder), :mod:`.kinetics`, :mod:`.untrimmed` (the two datasets),
:mod:`.formats` (the benchmark annotation writers), :mod:`.grounding_example` (a tiny grounding set with its
features, no video: the grounding heads' example), :mod:`.cli`.

Each dataset folder is written into a temporary folder and renamed into place when complete, so a folder
that exists is complete; ``toy_config.json`` inside it records the parameters, and a second call with the
same parameters does nothing.
"""

from bsp_lightning.data.toy.actions import (
    ACTION_WORDS,
    COLOURS,
    SHAPES,
    TOY_ACTIONS,
    TOY_DATA_VERSION,
    ToyAction,
    ToyInstance,
    speed_word,
)
from bsp_lightning.data.toy.cli import ensure_toy_data, main
from bsp_lightning.data.toy.formats import describe, describe_video, toy_tasks
from bsp_lightning.data.toy.grounding_example import write_grounding_example
from bsp_lightning.data.toy.kinetics import write_toy_kinetics
from bsp_lightning.data.toy.render import render_video
from bsp_lightning.data.toy.schedule import BOUNDARY_GROUPS, BOUNDARY_KINDS, ToyBoundary, VideoPlan, plan_video
from bsp_lightning.data.toy.storage import CONFIG_FILE, KINETICS_DIR, UNTRIMMED_DIR, default_toy_root
from bsp_lightning.data.toy.untrimmed import LAYOUTS, UNTRIMMED_PRESET, ToyVideo, write_toy_untrimmed

__all__ = [
    "ACTION_WORDS",
    "BOUNDARY_GROUPS",
    "BOUNDARY_KINDS",
    "COLOURS",
    "CONFIG_FILE",
    "KINETICS_DIR",
    "LAYOUTS",
    "SHAPES",
    "TOY_ACTIONS",
    "TOY_DATA_VERSION",
    "UNTRIMMED_DIR",
    "UNTRIMMED_PRESET",
    "ToyAction",
    "ToyBoundary",
    "ToyInstance",
    "ToyVideo",
    "VideoPlan",
    "default_toy_root",
    "describe",
    "describe_video",
    "ensure_toy_data",
    "main",
    "plan_video",
    "render_video",
    "speed_word",
    "toy_tasks",
    "write_grounding_example",
    "write_toy_kinetics",
    "write_toy_untrimmed",
]
