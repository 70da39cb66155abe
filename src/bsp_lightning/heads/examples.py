"""Moved: the toy grounding example (:func:`~bsp_lightning.data.toy.grounding_example.write_grounding_example`)
lives next to the other toy writers in :mod:`bsp_lightning.data.toy`. The old names of this module are served
through the table of old names (:mod:`bsp_lightning.legacy`), with a warning once."""

from bsp_lightning import legacy

__getattr__ = legacy.module_getattr(__name__)
