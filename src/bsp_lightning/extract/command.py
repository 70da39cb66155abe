"""``bsp-lightning extract``: snippet features of untrimmed videos with frozen checkpoints, on ``Trainer.predict``.

The data path, top to bottom::

    videos (a folder or a list file)                                 extract/inputs.py
      -> SnippetBatches: an IterableDataset sharded by (rank, DataLoader worker); each worker decodes whole
         videos once, in order, and emits batches of snippets of ONE video       extract/dataset.py
      -> SnippetFeatureExtractor.predict_step: the clip normalised once, frozen backbone(s) in eval mode,
         features before the classifier; two checkpoints (two-stream) are concatenated along channels
                                                                                 extract/extractor.py
      -> FeatureWriter (a BasePredictionWriter): gathers a video's snippet features and writes
         <video_id>.npy atomically once the video is complete, then its manifest entry
                                                                                 extract/writer.py

Memory stays bounded whatever a video's length, and decoding runs in the DataLoader workers, overlapping
the backbone. Snippet length, short side and crop default to what the checkpoint was trained with
(:mod:`bsp_lightning.extract.inputs`).

Resuming: a video is skipped when its ``.npy`` exists and its manifest entry was written with the same
configuration hash (checkpoint contents, snippet length, stride, resize and crop; not paths, batch size or
devices) from the same source file (size and modification time). Failed and partial videos are retried by
the next run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from bsp_lightning.extract.dataset import SnippetBatches, SnippetDataModule
from bsp_lightning.extract.extractor import SnippetFeatureExtractor, load_feature_stream
from bsp_lightning.extract.inputs import (
    UNSET,
    ExtractionError,
    SnippetSpec,
    VideoItem,
    list_videos,
    read_checkpoint_info,
    resolve_spec,
    source_stat,
)
from bsp_lightning.extract.writer import ExtractionSummary, FeatureWriter
from bsp_lightning.features.store import FORMAT_VERSION, FeatureStore, FeatureStoreError, config_hash
from bsp_lightning.models.checkpoints import CheckpointInfo
from bsp_lightning.models.normalize import IMAGENET_MEAN, IMAGENET_STD
from bsp_lightning.utils.cli import HelpFormatter

logger = logging.getLogger(__name__)

__all__ = ["LAST_SNIPPET_RULE", "build_parser", "extract", "extraction_config", "main"]

LAST_SNIPPET_RULE = "pad-with-last-frame"


# ------------------------------------------------------------------------------------------------- run
def extraction_config(
    checkpoints: Sequence[tuple[str, str, str]],
    spec: SnippetSpec,
    feature_dim: int,
    settings_source: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], str]:
    """The manifest's run configuration and its hash.

    Args:
        checkpoints: ``(path, sha256, kind)`` per stream, in concatenation order.
        spec: snippet settings.
        feature_dim: ``D`` of the written features.
        settings_source: where each snippet setting came from (recorded, not hashed).

    Returns:
        ``(config, hash)``; the hash covers what changes the features (checkpoint contents, snippet and
        frame settings), not checkpoint paths nor where the settings came from.
    """
    config = {
        "format": FORMAT_VERSION,
        "checkpoints": [{"path": p, "sha256": h, "kind": k} for p, h, k in checkpoints],
        "snippet_length": spec.snippet_length,
        "stride": spec.stride,
        "short_side": spec.short_side,
        "crop_size": spec.crop_size,
        "last_snippet": LAST_SNIPPET_RULE,
        "normalisation": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "feature_dim": feature_dim,
    }
    hashed = dict(config, checkpoints=[{"sha256": h, "kind": k} for _, h, k in checkpoints])
    if settings_source is not None:
        config["settings_source"] = dict(settings_source)
    return config, config_hash(hashed)


def extract(
    checkpoints: Sequence[str | os.PathLike | CheckpointInfo],
    videos: str | os.PathLike | Sequence[VideoItem],
    out_dir: str | os.PathLike,
    spec: SnippetSpec | None = None,
    batch_size: int = 16,
    num_workers: int = 2,
    accelerator: str = "auto",
    devices: int | str = 1,
    precision: str = "32-true",
    trainer_kwargs: dict[str, Any] | None = None,
    settings_source: Mapping[str, str] | None = None,
) -> ExtractionSummary:
    """Extract snippet features of ``videos`` with one checkpoint (or two: two-stream) into ``out_dir``.

    See the module docstring for the snippet rule, resuming and the output layout.

    Args:
        checkpoints: paths, or the files as read by :func:`~bsp_lightning.extract.inputs.read_checkpoint_info`
            (not read again).
        spec: snippet settings; None takes them from the checkpoints
            (:func:`~bsp_lightning.extract.inputs.resolve_spec`).
        settings_source: where each setting of ``spec`` came from, for the manifest (default: "given").

    Returns:
        The summary (written, failed, skipped videos) of the whole run on global rank 0.
    """
    started = time.perf_counter()
    items = list_videos(videos) if isinstance(videos, (str, os.PathLike)) else list(videos)
    # each file is unpickled once (here or by the caller); the settings and the loader take what was read
    infos = [c if isinstance(c, CheckpointInfo) else read_checkpoint_info(c) for c in checkpoints]
    if spec is None:
        spec, settings_source = resolve_spec(infos)
    elif settings_source is None:
        settings_source = {name: "given" for name in ("snippet_length", "stride", "short_side", "crop_size")}
    streams = [load_feature_stream(info, spec.snippet_length)[0] for info in infos]
    described = [(str(info.path.resolve()), info.sha256, info.kind) for info in infos]
    model = SnippetFeatureExtractor(streams)
    config, hash_ = extraction_config(described, spec, model.num_features, settings_source)

    store = FeatureStore(out_dir)
    todo = [v for v in items if not store.is_complete(v.video_id, hash_, source_stat(v.path))]
    summary_skipped = len(items) - len(todo)
    if summary_skipped:
        logger.info("skipping %d video(s) already extracted with this configuration", summary_skipped)

    dataset = SnippetBatches(todo, spec, batch_size)
    writer = FeatureWriter(store, hash_)
    trainer = pl.Trainer(
        accelerator=accelerator,
        devices=devices,
        precision=precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,  # the writer's bar counts videos, not batches
        enable_model_summary=False,
        use_distributed_sampler=False,  # SnippetBatches shards by itself
        callbacks=[writer],
        **(trainer_kwargs or {}),
    )
    # The rank is known now; the DataModule passes it to the dataset, here it sizes the progress bar.
    dataset.rank, dataset.world_size = trainer.global_rank, trainer.world_size
    writer.total = len(dataset.videos_of_rank(num_workers))
    if todo:
        trainer.predict(model, datamodule=SnippetDataModule(dataset, num_workers), return_predictions=False)
    trainer.strategy.barrier()
    summary = writer.summary
    summary.skipped = summary_skipped
    summary.is_global_zero = trainer.is_global_zero
    if trainer.is_global_zero:
        # All ranks have written their entries: rank 0 assembles the manifest and reports on the whole run.
        videos = store.write_manifest(config, hash_)["videos"]
        entries = [videos.get(v.video_id, {}) for v in items]
        summary.failed = {
            v.video_id: e.get("reason", "") for v, e in zip(items, entries) if e.get("status") == "failed"
        }
        summary.partial = {
            v.video_id: e.get("reason") or f"{e.get('num_frames')} of {e.get('expected_frames')} frames decoded"
            for v, e in zip(items, entries) if e.get("status") == "partial"
        }
        summary.written = sum(e.get("status") in ("ok", "partial") for e in entries) - summary_skipped
    summary.seconds = time.perf_counter() - started
    return summary


# ------------------------------------------------------------------------------------------------- CLI
def _optional_size(text: str) -> int | None:
    if text.lower() in ("none", "0", "off"):
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive size or 'none', got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bsp-lightning extract",
        description=(
            "Extract snippet features of untrimmed videos with a frozen BSP or official TSM checkpoint: "
            "every video is decoded once and cut into snippets of --snippet-length consecutive frames "
            "(the last one padded with the last frame); writes FEATDIR/<video_id>.npy, float32 "
            "(num_snippets, D), and FEATDIR/manifest.json. Re-running skips videos already extracted "
            "with the same configuration."
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--checkpoint", action="append", required=True, metavar="CKPT",
                        help="BSPModule .ckpt or official TSM checkpoint; give it twice for two-stream features "
                             "(concatenated along channels in the order given)")
    parser.add_argument("--videos", required=True, metavar="DIR|LIST.txt",
                        help="folder of videos or frame folders (searched recursively), a text file with one video "
                             "or frame-folder path per line, or a single video file")
    parser.add_argument("--fps", default=None, metavar="FPS|FILE",
                        help="frame folders: their frame rate, a number or a JSON/CSV side file naming each folder")
    parser.add_argument("--frame-template", default=None, metavar="TEMPLATE",
                        help="frame folders: image names such as img_{:05d}.jpg (default: detected per folder)")
    parser.add_argument("--out", required=True, metavar="FEATDIR", help="output feature folder")
    # "%(default).0s" prints nothing: it keeps the formatter from appending "(default: unset)"
    parser.add_argument("--snippet-length", type=_positive_int, default=UNSET,
                        help="consecutive frames per snippet (default: the frames per clip the BSP checkpoint "
                             "was trained with; 8 for official TSM files)%(default).0s")
    parser.add_argument("--stride", type=_positive_int, default=UNSET,
                        help="frames between snippet starts (default: 8)%(default).0s")
    parser.add_argument("--short-side", type=_optional_size, default=UNSET,
                        help="resize the shorter frame side to this ('none' keeps the size; default: the BSP "
                             "checkpoint's short_side; 256 for official TSM files)%(default).0s")
    parser.add_argument("--crop", type=_optional_size, default=UNSET,
                        help="centre crop size after resizing ('none' for no crop; default: the BSP "
                             "checkpoint's resolution; 224 for official TSM files)%(default).0s")
    parser.add_argument("--batch-size", type=_positive_int, default=16, help="snippets per forward pass")
    parser.add_argument("--num-workers", type=int, default=2, help="decoding processes per device")
    parser.add_argument("--accelerator", default="auto", help="Lightning accelerator (auto, cpu, gpu, ...)")
    parser.add_argument("--devices", default="1", help="devices per node (a number, or 'auto' for all)")
    parser.add_argument("--num-nodes", type=_positive_int, default=1, help="nodes for multi-node DDP")
    parser.add_argument("--precision", default="32-true", help="Lightning precision (e.g. 16-mixed on GPUs)")
    return parser


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("pytorch_lightning", "lightning", "lightning_fabric"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """``bsp-lightning extract``. Exit code 0: all videos ok; 1: some failed (see the manifest); 2: bad input."""
    args = build_parser().parse_args(argv)
    _configure_logging()
    if len(args.checkpoint) > 2:
        print("bsp-lightning extract: at most two --checkpoint (two-stream)", file=sys.stderr)
        return 2
    devices: int | str = int(args.devices) if args.devices.isdigit() else args.devices
    try:
        infos = [read_checkpoint_info(c) for c in args.checkpoint]
        spec, sources = resolve_spec(infos, args.snippet_length, args.stride, args.short_side, args.crop)
        videos = list_videos(args.videos, fps=args.fps, frame_template=args.frame_template)
        summary = extract(
            infos, videos, args.out, spec, settings_source=sources,
            batch_size=args.batch_size, num_workers=args.num_workers, accelerator=args.accelerator,
            devices=devices, precision=args.precision, trainer_kwargs={"num_nodes": args.num_nodes},
        )
    except (ExtractionError, FeatureStoreError) as err:
        print(f"bsp-lightning extract: {err}", file=sys.stderr)
        return 2
    if not summary.is_global_zero:
        return 0  # rank 0 reports for the whole run
    failed, partial = len(summary.failed), len(summary.partial)
    print(
        f"extract: {summary.written} video(s) written, {summary.skipped} already done, {failed} failed"
        + (f" ({', '.join(sorted(summary.failed))}; reasons in {Path(args.out) / 'manifest.json'})" if failed else "")
        + (f"; WARNING {partial} partial ({'; '.join(f'{v}: {w}' for v, w in sorted(summary.partial.items()))};"
           " re-run once the files are complete)" if partial else "")
        + f" -> {args.out} in {summary.seconds:.1f} s"
    )
    return 1 if failed else 0
