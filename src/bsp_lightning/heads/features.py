"""Moved: :class:`~bsp_lightning.features.FeatureSet` reads feature folders, a ``features/`` concept, and lives in
:mod:`bsp_lightning.features.featureset`; the heads get it from :mod:`bsp_lightning.heads`. The old names of this
module are served through the table of old names (:mod:`bsp_lightning.legacy`), with a warning once."""

from bsp_lightning import legacy

__getattr__ = legacy.module_getattr(__name__)
