"""The test loop of every head on 2 CPU processes (gloo): the gathered predictions are the 1-process predictions,
no video or query repeated, the same metric to 1e-9.

Lightning's default ``DistributedSampler`` pads the ranks by repeating items; the head contract gives test loaders
an unpadded sampler and puts the ranks' items back in dataset order. Each head's toy test split is made odd
(batch size 1), so padding would repeat an item. The processes are forked once per head (``ddp_fork``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from bsp_lightning.heads import available_heads
from bsp_lightning.lightning_cli import build_cli

SPECS = available_heads()


def _arg(args: list[str], name: str) -> Path:
    return Path(next(a.split("=", 1)[1] for a in args if a.startswith(f"--data.{name}=")))


def _odd_gtad(args: list[str]) -> list[str]:
    anet = _arg(args, "annotations")
    data = json.loads(anet.read_text())
    data["database"]["vid0"]["subset"] = "validation"  # 3 training videos left, tested here
    anet.write_text(json.dumps(data))
    return ["--data.init_args.test_subset=training"]


def _odd_grounding(args: list[str]) -> list[str]:
    test = _arg(args, "annotations") / "charades_sta_test.txt"
    first = test.read_text().splitlines()[0]
    test.write_text(test.read_text().rstrip("\n") + f"\n{first.split()[0]} 0.5 1.5##a person holds the door.\n")
    return []


#: per head, what gives its toy example an odd number of test items (then padding would repeat one)
ODD_TEST_SPLIT = {
    "gtad": _odd_gtad,
    "tan2d": _odd_grounding,
    "lgi": _odd_grounding,
    "actionness": lambda args: ["--data.init_args.tasks=[\"101\"]", "--data.init_args.test_fraction=0.375"],
}

pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or sys.platform == "win32",
                                reason="needs torch.distributed with fork")


def _keys(task: str, predictions) -> list:
    if task == "grounding":
        return [(r["video"], r["query"]) for r in predictions]
    return list(predictions["results"] if task == "detection" else predictions)


def _trainer(root: Path, **kw) -> pl.Trainer:
    return pl.Trainer(default_root_dir=str(root), logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, accelerator="cpu", **kw)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_two_process_test_loop_equals_one_process(name, tmp_path):
    spec = SPECS[name]
    args = spec.make_example(tmp_path)
    cli = build_cli([*args, *ODD_TEST_SPLIT[name](args), "--data.batch_size=1", "--logger=none"], run=False)
    model, dm = cli.model, cli.datamodule
    pl.seed_everything(0)
    one = _trainer(tmp_path / "one", devices=1).test(model, datamodule=dm, verbose=False)[0]
    n = len(dm.dataset("test"))
    assert n % 2 == 1 and n >= 3, f"{name}: the toy test split must be odd for this test ({n} items)"
    two = _trainer(tmp_path / "two", devices=2, strategy="ddp_fork").test(model, datamodule=dm, verbose=False)[0]
    first = json.loads((tmp_path / "one" / "predictions" / "test.json").read_text())
    second = json.loads((tmp_path / "two" / "predictions" / "test.json").read_text())
    keys = _keys(spec.task, second)
    assert len(keys) == len(set(keys)), f"{name}: an item was predicted twice"
    assert second == first
    assert one.keys() == two.keys() and all(abs(one[k] - two[k]) <= 1e-9 for k in one), (one, two)
