"""The model side of an extraction: frozen backbones as feature streams, run on snippet batches.

Each checkpoint, read once (:func:`~bsp_lightning.models.checkpoints.inspect_checkpoint`), becomes a
:class:`~bsp_lightning.pretrain.frozen.FrozenBackbone` (features before the classifier, eval mode, no
gradients). :class:`SnippetFeatureExtractor` normalises each ``uint8`` clip once (ImageNet statistics, on the
accelerator) and concatenates the streams' features along channels (two-stream).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from bsp_lightning.extract.inputs import ExtractionError, read_checkpoint_info
from bsp_lightning.models.checkpoints import CheckpointInfo
from bsp_lightning.models.normalize import normalize_clip, register_imagenet_stats
from bsp_lightning.pretrain.frozen import FrozenBackbone, load_backbone

__all__ = ["SnippetFeatureExtractor", "load_feature_stream"]


def load_feature_stream(
    checkpoint: CheckpointInfo | str | os.PathLike, snippet_length: int = 8
) -> tuple[FrozenBackbone, str]:
    """Load a checkpoint as a frozen ``(N, T, 3, H, W) normalised -> (N, D)`` feature module.

    A Lightning checkpoint of a :class:`~bsp_lightning.module.BSPModule` (any variant) gives its backbone;
    any other file is read as an official TSM checkpoint and gives ``features`` (before ``new_fc``). The rule
    is :func:`bsp_lightning.models.checkpoints.checkpoint_kind`.

    Args:
        checkpoint: the file as read by :func:`~bsp_lightning.extract.inputs.read_checkpoint_info` (it is not
            read again), or its path.
        snippet_length: frames per snippet (the temporal shift needs it).

    Returns:
        ``(module, kind)`` with ``kind`` "bsp" or "official_tsm"; ``module.num_features`` is ``D``.

    Raises:
        ExtractionError: the file does not exist or is neither kind.
    """
    info = checkpoint if isinstance(checkpoint, CheckpointInfo) else read_checkpoint_info(checkpoint)
    what = "cannot load as a BSPModule checkpoint" if info.kind == "bsp" else (
        "neither a BSPModule (.ckpt) nor an official TSM checkpoint")
    if info.obj is None:
        raise ExtractionError(f"{info.path}: {what}: {info.error}")
    try:
        return load_backbone(info, snippet_length)
    except Exception as err:  # noqa: BLE001 - any loading failure is a bad checkpoint, named as such
        # one line: torch's and Lightning's messages run over several lines and paragraphs
        detail = " ".join(str(err).split())
        if len(detail) > 300:
            detail = detail[:300] + " ..."
        raise ExtractionError(f"{info.path}: {what} ({type(err).__name__}: {detail})") from None


class SnippetFeatureExtractor(pl.LightningModule):
    """Frozen feature streams run on snippet batches; several streams are concatenated along channels.

    Args:
        streams: modules mapping a normalised float clip ``(N, T, 3, H, W)`` to ``(N, D_i)``
            (see :func:`load_feature_stream`); the ``uint8`` clip is normalised once for all of them.
    """

    def __init__(self, streams: Sequence[nn.Module]) -> None:
        super().__init__()
        if not streams:
            raise ExtractionError("at least one checkpoint is needed")
        self.streams = nn.ModuleList(streams)
        self.num_features = sum(int(s.num_features) for s in streams)
        register_imagenet_stats(self)

    def on_predict_start(self) -> None:
        self.streams.eval()

    @torch.no_grad()
    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        clip = batch["clip"]
        if clip.shape[0] == 0:
            feats = torch.empty((0, self.num_features))
        else:
            x = normalize_clip(clip, self.mean, self.std)
            feats = torch.cat([s(x) for s in self.streams], dim=1).float().cpu()
        out = {k: v for k, v in batch.items() if k != "clip"}
        out.update(features=feats, snippet_index=batch["snippet_index"].cpu(), start_frame=batch["start_frame"].cpu())
        return out
