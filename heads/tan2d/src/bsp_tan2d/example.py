"""The head contract's example for 2D-TAN: the shared tiny Charades-STA-format dataset and the ``tan2d_toy`` arguments.

The dataset (features, ``charades_sta_*.txt``, ``Charades_v1_*.csv`` and a small GloVe file) is
:func:`bsp_lightning.data.toy.grounding_example.write_grounding_example`, also used by LGI.
"""

from __future__ import annotations

from pathlib import Path

from bsp_lightning.data.toy.grounding_example import ACTIONS, write_grounding_example

__all__ = ["write_example", "make_example", "study_inputs", "ACTIONS"]

write_example = write_grounding_example


def make_example(folder: Path) -> list[str]:
    """The shared grounding example (:func:`~bsp_lightning.data.toy.grounding_example.write_grounding_example`) and the
    ``bsp-lightning fit`` arguments that train ``tan2d_toy`` on it with the example GloVe file (8-d)."""
    paths = write_grounding_example(folder)
    return ["--config", str(Path(__file__).parent / "configs" / "tan2d_toy.yaml"), f"--data.features={paths['features']}",
            f"--data.annotations={paths['annotations']}", "--data.train_file=charades_sta_train.txt",
            "--data.test_files=charades_sta_test.txt", "--data.val_fraction=0.25",
            "--model.word_embedding=glove", f"--model.glove={paths['glove']}", "--model.word_dim=8",
            f"--trainer.default_root_dir={Path(folder) / 'run'}"]


def study_inputs(untrimmed: Path) -> list[str]:
    """``bsp-lightning study``: the toy-untrimmed folder's Charades-STA files (``toy_sta_{train,test}.txt``)."""
    return [f"--data.annotations={untrimmed}", "--data.train_file=toy_sta_train.txt",
            "--data.test_files=toy_sta_test.txt"]
