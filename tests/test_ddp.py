"""Real data-parallel training: torchrun, 2 CPU processes, gloo; both ranks end with identical weights
(with the synaptic-operation penalty on, whose gradient goes through DDP like the loss's).

Run as a script (by torchrun) this file is the worker: it trains a tiny model on
SHD-layout files and saves its rank's final weights.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

WORKER_CONFIG = {"num_neurons": 16, "num_blocks": 4, "num_layers": 3, "dropout": 0.2}


def worker(root: str, out: str) -> None:
    """One rank: train 2 epochs with the library's DDP path, save this rank's weights and data share."""
    torch.set_num_threads(1)
    from s5rf_neuro import training
    from s5rf_neuro.config import S5RFConfig
    from s5rf_neuro.data import dataset_info
    from s5rf_neuro.distributed import setup, teardown
    from s5rf_neuro.model import S5RFClassifier

    ctx = setup("cpu")
    source, train_data, test_data = training.load_data(
        {"kind": "shd", "root": root, "binning": {"mode": "duration", "bins": 40}})
    recipe = training.Recipe(epochs=2, batch_size=8, seed=0, time_jitter=1.0, synops_penalty=0.5)
    torch.manual_seed(100 + ctx.rank)  # different initial weights: DDP must broadcast rank 0's
    model = S5RFClassifier(S5RFConfig(input_dim=140, output_dim=20, **WORKER_CONFIG))
    metrics = training.train(model, train_data, test_data, recipe, Path(out) / "ddp.ckpt",
                             dataset_info(source, train_data), ctx=ctx, progress=False)
    shares = training.epoch_batches(len(train_data), 8, np.random.default_rng([0, 0]), ctx)
    torch.save({"state_dict": model.state_dict(), "metrics": metrics, "world": ctx.world_size,
                "first_batch": torch.from_numpy(shares[0])}, Path(out) / f"rank{ctx.rank}.pt")
    teardown(ctx)


def test_two_process_gloo_training_keeps_ranks_identical(tmp_path):
    from spike_files import write_shd_dir

    from s5rf_neuro.checkpoint import load_checkpoint

    root = write_shd_dir(tmp_path / "shd", train_per_class=2, test_per_class=1)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           __file__, str(root), str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parent, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert ranks[0]["world"] == ranks[1]["world"] == 2
    # each rank trained on its own half of every batch ...
    assert not set(ranks[0]["first_batch"].tolist()) & set(ranks[1]["first_batch"].tolist())
    # ... yet both end with the same weights, equal to the checkpoint rank 0 wrote
    ckpt = load_checkpoint(tmp_path / "ddp.ckpt")
    for name, value in ranks[0]["state_dict"].items():
        torch.testing.assert_close(ranks[1]["state_dict"][name], value, rtol=0, atol=0, msg=name)
        torch.testing.assert_close(ckpt.state_dict[name], value, rtol=0, atol=0, msg=name)
    assert ranks[0]["metrics"]["test_accuracy"] == ranks[1]["metrics"]["test_accuracy"] == ckpt.metrics["test_accuracy"]
    assert ckpt.extra["epoch"] == 2
    assert ckpt.extra["recipe"]["synops_penalty"] == 0.5 and ckpt.metrics["synaptic_ops_per_sample"] > 0


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2])
