"""2 nodes x 2 processes on one machine (two torchrun agents on localhost, gloo), fitting one epoch on shards:
every clip once across the 4 ranks, the same global batches as 1 process with 4x the batch, and the learning
rate scaled by the world size."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from bsp_lightning.data.shards import ShardStore

SCRIPT = Path(__file__).with_name("ddp_fit.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_of_two_processes_train_on_what_one_process_with_4x_the_batch_trains_on(packed, tmp_path):
    store = str(packed["raw"])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    port = free_port()
    ddp_out, single_out = tmp_path / "ddp", tmp_path / "single"
    ddp_out.mkdir()
    single_out.mkdir()
    agents = [
        subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "2",
             "--node-rank", str(node), "--master-addr", "127.0.0.1", "--master-port", str(port),
             str(SCRIPT), "--store", store, "--out", str(ddp_out), "--batch-size", "1", "--nodes", "2",
             "--devices", "2"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for node in (0, 1)
    ]
    # meanwhile, here: one process with 4x the batch
    spec = importlib.util.spec_from_file_location("ddp_fit", SCRIPT)
    ddp_fit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ddp_fit)
    ddp_fit.fit_once(store, str(single_out), batch_size=4)
    outputs = [agent.communicate(timeout=120)[0] for agent in agents]
    assert all(agent.returncode == 0 for agent in agents), "\n".join(o[-3000:] for o in outputs)

    ranks = [json.loads((ddp_out / f"rank{r}.json").read_text()) for r in range(4)]
    (one,) = [json.loads((single_out / "rank0.json").read_text())]
    assert [r["world_size"] for r in ranks] == [4] * 4 and [r["node_rank"] for r in ranks] == [0, 0, 1, 1]
    # each clip of the epoch exactly once across the 4 ranks
    seen = [clip for r in ranks for batch in r["batches"] for clip in batch]
    assert sorted(seen) == sorted(ShardStore(packed["raw"] / "train").ids)
    # step s of the 4 ranks (in rank order) is step s of one process with 4x the batch
    assert len(one["batches"]) == len(ranks[0]["batches"]) == 3
    for step, batch in enumerate(one["batches"]):
        assert batch == [clip for r in ranks for clip in r["batches"][step]]
    # lr = 0.02 per 128 clips x (world size x batch per process): 4 x 1 here, 1 x 4 for the single process
    assert all(r["lr"] == 0.02 * 4 * 1 / 128 for r in ranks) and one["lr"] == 0.02 * 1 * 4 / 128
