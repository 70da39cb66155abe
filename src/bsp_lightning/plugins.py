"""Discovery of downstream head packages.

Each head (G-TAD, 2D-TAN, LGI, actionness) is its own distribution under ``heads/`` and registers itself in
the entry-point group ``bsp_lightning.heads``::

    [project.entry-points."bsp_lightning.heads"]
    gtad = "bsp_gtad"

so the core library never imports a head, and installing a head is all it takes to make it visible.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

HEADS_GROUP = "bsp_lightning.heads"


def available_heads() -> dict[str, EntryPoint]:
    """Installed head packages, by name (entry points are loaded lazily by the caller)."""
    return {ep.name: ep for ep in entry_points(group=HEADS_GROUP)}


def load_head(name: str):
    """Import the head package registered as ``name``.

    Raises:
        KeyError: no installed head has that name; the message lists the installed ones.
    """
    heads = available_heads()
    if name not in heads:
        installed = ", ".join(sorted(heads)) or "none"
        raise KeyError(f"no bsp-lightning head named {name!r} is installed (installed: {installed})")
    return heads[name].load()
