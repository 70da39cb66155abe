"""The head contract's example for LGI: the shared tiny Charades-STA-format dataset and the ``lgi_toy`` arguments."""

from __future__ import annotations

from pathlib import Path

from bsp_lightning.data.toy.grounding_example import write_grounding_example

__all__ = ["make_example", "study_inputs"]


def make_example(folder: Path) -> list[str]:
    """Write :func:`~bsp_lightning.data.toy.grounding_example.write_grounding_example` under ``folder`` and return the
    ``bsp-lightning fit`` arguments that train ``lgi_toy`` on it (its official Charades file names, a quarter of the
    training videos held out so the validation split is not empty)."""
    paths = write_grounding_example(folder)
    return ["--config", str(Path(__file__).parent / "configs" / "lgi_toy.yaml"),
            f"--data.features={paths['features']}", f"--data.annotations={paths['annotations']}",
            "--data.train_file=charades_sta_train.txt", "--data.test_files=charades_sta_test.txt",
            "--data.val_fraction=0.25", f"--trainer.default_root_dir={Path(folder) / 'run'}"]


def study_inputs(untrimmed: Path) -> list[str]:
    """``bsp-lightning study``: the toy-untrimmed folder's Charades-STA files (``toy_sta_{train,test}.txt``)."""
    return [f"--data.annotations={untrimmed}", "--data.train_file=toy_sta_train.txt",
            "--data.test_files=toy_sta_test.txt"]
