"""Small shared helpers."""

from bsp_lightning.utils.io import atomic_path, atomic_save_npy, atomic_write_json, atomic_write_text

__all__ = ["atomic_path", "atomic_save_npy", "atomic_write_json", "atomic_write_text"]
