"""Which head trained a checkpoint: the record a :class:`~bsp_lightning.heads.HeadModule` writes into each of its
checkpoints (its registered name, class and the config of the run), and the one-line error when a checkpoint of one
head is given to another (``bsp-lightning test --config tan2d_toy --ckpt_path gtad.ckpt``), which otherwise fails
deep inside the model's constructor or ``load_state_dict``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bsp_lightning import legacy

__all__ = ["HEAD_KEY", "CheckpointHeadMismatchError", "checkpoint_head_problem"]

#: The checkpoint key under which a head records ``{"name", "class", "config"}``.
HEAD_KEY = "bsp_head"


class CheckpointHeadMismatchError(ValueError):
    """A checkpoint of one head given to another: ``"<file> was trained by head gtad (config gtad_toy); this run
    is tan2d"``."""


def checkpoint_head_problem(checkpoint: Mapping[str, Any], this_head: str | None, path: str | None = None
                            ) -> str | None:
    """The one-line problem when ``checkpoint`` was trained by another head than ``this_head``, else ``None``.

    The head is the one recorded under :data:`HEAD_KEY`; in a checkpoint without it, the installed head whose
    module class the checkpoint's hyper-parameters name (``_class_path``).
    """
    from bsp_lightning.heads.spec import head_name_of

    record = dict(checkpoint.get(HEAD_KEY) or {})
    trained_by = record.get("name")
    if trained_by is None:
        class_path = (checkpoint.get("hyper_parameters") or {}).get("_class_path")
        if not class_path:
            return None
        try:
            trained_by = head_name_of(legacy.import_class(class_path))
        except (ImportError, AttributeError, TypeError, ValueError):
            return None
    if trained_by is None or this_head is None or trained_by == this_head:
        return None
    config = f" (config {record['config']})" if record.get("config") else ""
    return f"{path or 'the checkpoint'} was trained by head {trained_by}{config}; this run is {this_head}"
