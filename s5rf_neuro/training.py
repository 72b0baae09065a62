"""The training recipe of the paper, for one process or data-parallel under torchrun.

Recipe (docs/design.md §2, Huber et al. 2025):

- loss: cross-entropy of the classifier's log-probabilities against (soft)
  targets (plain NLL unless CutMix mixes labels);
- optimiser: AdamW with `weight_decay` on the weights (B of each layer, the
  readout); Adam (AdamW with weight decay 0, the same update) with its own
  learning rate `lr_ssm` on the neuron parameters λ (a, ω) and log Δ; the
  readout decay logit κ is trained with `lr` and no weight decay;
- learning rates follow one cosine decay from their initial value to 0 over
  all optimiser steps of the run;
- every epoch: shuffled mini-batches (the last incomplete batch is dropped),
  augmentations, then test accuracy and spikes per sample; the checkpoint is
  rewritten atomically after each epoch, with the optimiser state in
  `extra`, so `--resume` continues from the last complete epoch, and so is
  `<checkpoint stem>.metrics.jsonl`, one JSON line of metrics per epoch
  (losses, accuracies, spikes and synaptic operations per sample), kept
  consistent with the checkpoint (`s5rf_neuro.training_output`);
- `synops_penalty` W ≥ 0 adds W × (synaptic operations per sample ÷ dense
  MACs per sample of the same network) to the loss, counted as the hardware
  counters count them and differentiable through the surrogate spike (see
  `s5rf_neuro.synops`); 0 leaves the paper's loss unchanged. With
  `synops_target` T > 0 only the operations above T per sample (batch mean)
  are penalised: the model is pushed down to the budget, not below it.

Determinism: the shuffling and augmentation generator of epoch e is
`numpy.random.default_rng([seed, e])` and torch's generator (dropout) is reseeded
from (seed, e) at the start of each epoch, so a run resumed at an epoch
boundary ends with the same weights on CPU as an uninterrupted one.

Extension point for quantisation-aware training: `train(..., param_transform=f)`
where `f(params: dict[str, Tensor]) -> dict[str, Tensor]` receives the model's
parameters (names as in `model.named_parameters()`) and returns the tensors the
forward pass uses instead (all or some of them). It runs inside the autograd
graph on every training and evaluation forward (via
`torch.func.functional_call`), so a fake-quantiser with a straight-through
gradient trains the float parameters; `extra={"qat": ...}` is stored in the
checkpoint.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from s5rf_neuro.checkpoint import Checkpoint, save_checkpoint
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.data import DatasetInfo, SpikeData, dataset_info, load_split, resolve_source
from s5rf_neuro.data.augment import Augment, one_hot
from s5rf_neuro.distributed import DistContext, all_reduce_sum, setup, teardown
from s5rf_neuro.errors import ConfigError, DataError
from s5rf_neuro.interrupts import signals_deferred
from s5rf_neuro.model import S5RFClassifier
from s5rf_neuro.records import record_from_dict
from s5rf_neuro.synops import synaptic_ops
from s5rf_neuro.terminal import show_progress
from s5rf_neuro.training_output import earlier_lines, json_line, metrics_path, write_log

ParamTransform = Callable[[dict[str, torch.Tensor]], Mapping[str, torch.Tensor]]

# Parameter names (last component) of the neuron dynamics, trained with lr_ssm and no weight decay.
SSM_PARAMETERS = ("lambda_param", "log_step")
NO_DECAY_PARAMETERS = ("readout_logit",)


@dataclass
class Recipe:
    """Optimisation settings (see module doc). Validated on construction (ConfigError names the field)."""

    epochs: int = 20
    batch_size: int = 32
    lr: float = 0.004
    lr_ssm: float = 0.002
    weight_decay: float = 0.01
    seed: int = 0
    time_jitter: float = 0.0
    channel_shift: int = 0
    cutmix: float = 0.0
    eval_batch_size: int = 256
    synops_penalty: float = 0.0
    synops_target: float = 0.0

    def __post_init__(self) -> None:
        for name in ("synops_penalty", "synops_target"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"recipe field '{name}': must be a finite number >= 0 ({value!r})")
            setattr(self, name, float(value))
        for name in ("epochs", "batch_size", "seed", "channel_shift", "eval_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"recipe field '{name}': expected a whole number, got {value!r}")
        for name in ("lr", "lr_ssm", "weight_decay", "time_jitter", "cutmix"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"recipe field '{name}': expected a finite number, got {value!r}")
        checks = {
            "seed": (0 <= self.seed < 2**32, f"0..{2**32 - 1}"), "epochs": (self.epochs >= 0, ">= 0"),
            "batch_size": (self.batch_size >= 1, ">= 1"), "lr": (self.lr > 0, "> 0"), "lr_ssm": (self.lr_ssm > 0, "> 0"),
            "weight_decay": (self.weight_decay >= 0, ">= 0"), "time_jitter": (self.time_jitter >= 0, ">= 0"),
            "channel_shift": (self.channel_shift >= 0, ">= 0"), "cutmix": (0 <= self.cutmix <= 1, "in [0, 1]"),
            "eval_batch_size": (self.eval_batch_size >= 1, ">= 1"),
        }
        for name, (ok, allowed) in checks.items():
            if not ok:
                raise ConfigError(f"recipe field '{name}': must be {allowed}, got {getattr(self, name)!r}")

    @property
    def augment(self) -> Augment:
        return Augment(time_jitter=self.time_jitter, channel_shift=self.channel_shift, cutmix=self.cutmix)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "recipe") -> "Recipe":
        """Build from a dictionary of fields; unknown or invalid fields raise `ConfigError` naming `where`."""
        return record_from_dict(cls, data, where, ConfigError)


# Named settings: S5RFConfig fields ("config"), Recipe fields ("recipe") and the data set they are meant for.
PRESETS: dict[str, dict[str, Any]] = {
    "shd": {
        "data": "shd",
        "config": {"num_layers": 2, "num_neurons": 128, "num_blocks": 32, "dropout": 0.1,
                   "eta_min": 0.004, "eta_max": 0.1},
        "recipe": {"batch_size": 32, "epochs": 20, "lr": 0.004, "lr_ssm": 0.002},
    },
    "ssc": {
        "data": "ssc",
        "config": {"num_layers": 4, "num_neurons": 512, "num_blocks": 16, "dropout": 0.3},
        "recipe": {"batch_size": 128, "epochs": 80, "lr": 0.004, "lr_ssm": 0.004, "cutmix": 0.5},
    },
    # The published sMNIST recipe on its offline twin (sdigits: 1438 training sequences of 64 steps instead of
    # 60000 of 784). At the published step range the first layer only starts to spike after about 15 epochs,
    # so the schedule is long: 96.4 % on the sdigits test split (seed 0, 150 epochs, one thread).
    "smnist": {
        "data": "sdigits",
        "config": {"num_layers": 2, "num_neurons": 128, "num_blocks": 8, "discretization": "zoh",
                   "eta_min": 0.001, "eta_max": 0.1, "keep_imag": True, "dropout": 0.15},
        "recipe": {"batch_size": 64, "epochs": 150, "lr": 0.008, "lr_ssm": 0.002, "weight_decay": 1e-4},
    },
}

# The embedded default (`s5rf-train -o model.ckpt`): scikit-learn digits, >= 95 % in < 3 min on 2 cores.
# The sequences are short (T = 32), so Δ starts 50× larger than the paper's SHD range: with b̄ = Δ (dirac)
# the input reaches the threshold within a few steps and both layers spike from the first batch.
# 2 x 128 neurons reached 96.7-97.2 % over seeds 0-2 (30 epochs, about 30 s on one uncontended core).
DIGITS_DEFAULT: dict[str, Any] = {
    "data": "digits",
    "config": {"num_layers": 2, "num_neurons": 128, "num_blocks": 8, "eta_min": 0.05, "eta_max": 1.0},
    "recipe": {"batch_size": 32, "epochs": 30, "lr": 0.004, "lr_ssm": 0.002},
}


def parameter_groups(model: nn.Module, recipe: Recipe) -> list[dict[str, Any]]:
    """Optimiser groups: weights (lr, weight decay), neuron dynamics (lr_ssm, none), other (lr, none)."""
    groups: dict[str, list[nn.Parameter]] = {"weights": [], "ssm": [], "other": []}
    for name, param in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        key = "ssm" if leaf in SSM_PARAMETERS else "other" if leaf in NO_DECAY_PARAMETERS else "weights"
        groups[key].append(param)
    settings = {"weights": (recipe.lr, recipe.weight_decay), "ssm": (recipe.lr_ssm, 0.0), "other": (recipe.lr, 0.0)}
    return [{"name": k, "params": v, "lr": settings[k][0], "initial_lr": settings[k][0],
             "weight_decay": settings[k][1]} for k, v in groups.items() if v]


def cosine_factor(step: int, total_steps: int) -> float:
    """Learning-rate multiplier at optimiser step `step` of `total_steps`: 1 → 0 along half a cosine."""
    if total_steps <= 0:
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))


def set_learning_rates(optimizer: torch.optim.Optimizer, step: int, total_steps: int) -> None:
    factor = cosine_factor(step, total_steps)
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] * factor


class _SpikingForward(nn.Module):
    """`forward` = the model's `forward_with_spikes`, optionally on transformed parameters.

    This is the module DDP wraps, so gradient synchronisation sees the call.
    """

    def __init__(self, model: S5RFClassifier, param_transform: ParamTransform | None) -> None:
        super().__init__()
        self.model = model
        self.param_transform = param_transform

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if self.param_transform is None:
            return self.model.forward_with_spikes(x)
        params = dict(self.model.named_parameters())
        replaced = dict(params)
        replaced.update(self.param_transform(params))
        return torch.func.functional_call(_WithSpikes(self.model), {f"model.{k}": v for k, v in replaced.items()},
                                          (x,))


class _WithSpikes(nn.Module):
    def __init__(self, model: S5RFClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self.model.forward_with_spikes(x)


def soft_cross_entropy(log_probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of −Σ_k targets·log_probs; targets (B, K) rows sum to 1."""
    return -(targets * log_probs).sum(dim=1).mean()


def epoch_batches(n: int, batch_size: int, rng: np.random.Generator, ctx: DistContext) -> list[np.ndarray]:
    """This rank's sample indices for each step of an epoch.

    Global batches of `batch_size` from one shuffled order (a data set smaller
    than one batch is one batch; otherwise the last incomplete batch is
    dropped); rank r takes every world_size-th sample of each batch.
    """
    order = rng.permutation(n)
    full = n // batch_size
    batches = [order] if full == 0 else np.split(order[: full * batch_size], full)
    return [b[ctx.rank::ctx.world_size] for b in batches]


def _to_tensor(x: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)


@dataclass(frozen=True)
class Evaluation:
    """Test-set figures: accuracy in [0, 1]; per sample, spikes of each layer and synaptic
    operations of each layer then the readout (`s5rf_neuro.synops`)."""

    accuracy: float
    spikes: list[float]
    synaptic_ops: list[float]

    @property
    def total_synaptic_ops(self) -> float:
        """All synaptic operations per sample."""
        return float(sum(self.synaptic_ops))


@torch.no_grad()
def evaluate_activity(model: S5RFClassifier, data: SpikeData, batch_size: int = 256,
                      device: torch.device | str = "cpu", param_transform: ParamTransform | None = None,
                      ctx: DistContext | None = None, progress: bool = False) -> Evaluation:
    """Accuracy, spikes and synaptic operations per sample on `data`.

    Under torchrun every rank evaluates its share and the counts are summed.
    """
    ctx = ctx or DistContext(device=torch.device(device))
    was_training = model.training
    model.eval()
    forward = _SpikingForward(model, param_transform)
    mine = np.arange(ctx.rank, len(data), ctx.world_size)
    layers = len(model.layers)
    # accuracy, spikes per layer, synaptic operations per layer and readout
    sums = torch.zeros(1 + layers + layers + 1, dtype=torch.float64, device=ctx.device)
    starts = range(0, len(mine), batch_size)
    for start in tqdm(starts, desc="evaluate", leave=False, disable=not show_progress(progress and ctx.is_main)):
        idx = mine[start:start + batch_size]
        x = _to_tensor(data.inputs[idx], ctx.device)
        log_probs, layer_spikes = forward(x)
        labels = torch.from_numpy(data.labels[idx]).to(ctx.device)
        ops = synaptic_ops(model, x, layer_spikes)
        sums += torch.stack([(log_probs.argmax(dim=1) == labels).sum().double(),
                             *[s.sum(dtype=torch.float64) for s in layer_spikes],
                             *[o.sum(dtype=torch.float64) for o in (*ops.layers, ops.readout)]])
    all_reduce_sum(sums, ctx)
    model.train(was_training)
    values = [float(v) / max(len(data), 1) for v in sums]
    return Evaluation(values[0], values[1:1 + layers], values[1 + layers:])


def evaluate(model: S5RFClassifier, data: SpikeData, batch_size: int = 256, device: torch.device | str = "cpu",
             param_transform: ParamTransform | None = None, ctx: DistContext | None = None,
             progress: bool = False) -> tuple[float, list[float]]:
    """Test accuracy in [0, 1] and mean spikes per sample of each layer (summed over time and neurons)."""
    result = evaluate_activity(model, data, batch_size, device, param_transform, ctx, progress)
    return result.accuracy, result.spikes


def _activity_metrics(result: Evaluation) -> dict[str, Any]:
    return {"test_accuracy": result.accuracy, "spikes_per_sample": result.spikes,
            "synaptic_ops_per_sample": result.total_synaptic_ops, "synaptic_ops_per_layer": result.synaptic_ops}


def train(model: S5RFClassifier, train_data: SpikeData, test_data: SpikeData, recipe: Recipe,
          out_path: str | Path, dataset: DatasetInfo, *, ctx: DistContext | None = None,
          resume_state: Mapping[str, Any] | None = None, param_transform: ParamTransform | None = None,
          extra: Mapping[str, Any] | None = None, progress: bool = True) -> dict[str, Any]:
    """Train `model` with `recipe`, writing the checkpoint `out_path` after every epoch.

    resume_state: a previous checkpoint's `extra` (optimizer, epoch, step, train_time_s).
    param_transform, extra: see the module doc (QAT hook). Returns the final metrics.
    """
    ctx = ctx or DistContext()
    out_path = Path(out_path)
    if len(train_data) < ctx.world_size:
        raise DataError(f"{train_data.name}: {len(train_data)} training samples for {ctx.world_size} processes")
    model.to(ctx.device)
    forward: nn.Module = _SpikingForward(model, param_transform)
    if ctx.active:
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        forward = nn.parallel.DistributedDataParallel(forward, device_ids=ids)
    optimizer = torch.optim.AdamW(parameter_groups(model, recipe), lr=recipe.lr)
    steps_per_epoch = max(1, len(train_data) // recipe.batch_size)
    total_steps = steps_per_epoch * recipe.epochs
    start_epoch, step, elapsed = 0, 0, 0.0
    if resume_state:
        optimizer.load_state_dict(resume_state["optimizer"])
        start_epoch, step = int(resume_state["epoch"]), int(resume_state["step"])
        elapsed = float(resume_state.get("train_time_s", 0.0))
    log = metrics_path(out_path)
    if ctx.is_main:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    log_lines = earlier_lines(log, start_epoch) if ctx.is_main else []
    augment, num_classes = recipe.augment, train_data.num_classes
    metrics: dict[str, Any] = dict(resume_state.get("metrics", {})) if resume_state else {}

    def save(metrics: dict[str, Any], epochs_done: int) -> None:
        """The checkpoint, then the metrics log that matches it; an interruption waits until both are written."""
        state = {"optimizer": optimizer.state_dict(), "epoch": epochs_done, "step": step, "train_time_s": elapsed,
                 "recipe": recipe.to_dict(), "metrics": metrics, **(extra or {})}
        with signals_deferred():
            save_checkpoint(out_path, model, dataset, metrics, extra=state)
            write_log(log, log_lines)

    for epoch in range(start_epoch, recipe.epochs):
        began = time.perf_counter()
        rng = np.random.default_rng([recipe.seed, epoch])
        torch.manual_seed(recipe.seed * 1_000_003 + epoch)
        model.train()
        loss_sum, correct, seen = 0.0, 0.0, 0
        bar = tqdm(epoch_batches(len(train_data), recipe.batch_size, rng, ctx), desc=f"epoch {epoch + 1}/{recipe.epochs}",
                   leave=False, disable=not show_progress(progress and ctx.is_main), unit="step")
        for idx in bar:
            x = train_data.inputs[idx]
            y = one_hot(train_data.labels[idx], num_classes)
            if augment.active:
                x, y = augment(x, y, rng)
            xt, yt = _to_tensor(x, ctx.device), torch.from_numpy(y).to(ctx.device)
            set_learning_rates(optimizer, step, total_steps)
            log_probs, spikes = forward(xt)
            loss = soft_cross_entropy(log_probs, yt)
            if recipe.synops_penalty > 0:
                loss = loss + recipe.synops_penalty * synaptic_ops(model, xt, spikes).relative(recipe.synops_target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += float(loss) * len(idx)
            correct += float((log_probs.argmax(1) == yt.argmax(1)).sum())
            seen += len(idx)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
        elapsed += time.perf_counter() - began
        result = evaluate_activity(model, test_data, recipe.eval_batch_size, ctx.device, param_transform, ctx)
        accuracy = result.accuracy
        totals = all_reduce_sum(torch.tensor([loss_sum, correct, seen], dtype=torch.float64, device=ctx.device), ctx)
        metrics = {"epoch": epoch + 1, "train_loss": float(totals[0] / max(totals[2], 1)),
                   "train_accuracy": float(totals[1] / max(totals[2], 1)), **_activity_metrics(result),
                   "train_time_s": round(elapsed, 3), "lr": optimizer.param_groups[0]["lr"]}
        if ctx.is_main:
            if progress:
                tqdm.write(f"epoch {epoch + 1}/{recipe.epochs}: loss {metrics['train_loss']:.4f}, train acc "
                           f"{metrics['train_accuracy']:.4f}, test acc {accuracy:.4f}, "
                           f"{result.total_synaptic_ops:,.0f} synaptic ops / sample, {elapsed:.1f} s")
            log_lines.append(json_line(metrics))
            save(metrics, epoch + 1)
    if start_epoch >= recipe.epochs:  # nothing to train (0 epochs, or resumed after the last one)
        result = evaluate_activity(model, test_data, recipe.eval_batch_size, ctx.device, param_transform, ctx)
        metrics = {**metrics, "epoch": recipe.epochs, **_activity_metrics(result), "train_time_s": round(elapsed, 3)}
        if ctx.is_main:
            save(metrics, recipe.epochs)
    return metrics


def load_data(source: dict) -> tuple[dict, SpikeData, SpikeData]:
    """(resolved source, train split, test split); DataError when the two splits disagree."""
    train_data = load_split(source, "train")
    source = resolve_source(source, train_data)
    test_data = load_split(source, "test")
    test_data.check_fits(f"{train_data.name} train split", train_data.input_dim, train_data.num_classes)
    return source, train_data, test_data


def run(source: dict, recipe: Recipe, out_path: str | Path, *, config: Mapping[str, Any] | None = None,
        device: str = "cpu", resume: Checkpoint | None = None, param_transform: ParamTransform | None = None,
        extra: Mapping[str, Any] | None = None, progress: bool = True) -> dict[str, Any]:
    """Load the data of `source`, build (or resume) the model and train it; returns the final metrics.

    config: S5RFConfig fields other than input_dim/output_dim (taken from the data);
    resume: a loaded checkpoint whose config, weights and optimiser state are continued
    (its `extra` must come from this module). Joins torchrun's process group when present.
    """
    ctx = setup(device)
    try:
        source, train_data, test_data = load_data(source)
        if recipe.channel_shift >= train_data.input_dim:
            raise ConfigError(f"recipe field 'channel_shift': must be below the {train_data.input_dim} input channels "
                              f"of {train_data.name}, got {recipe.channel_shift}")
        if resume is not None:
            cfg = resume.config
            train_data.check_fits("the resumed checkpoint", cfg.input_dim, cfg.output_dim)
        else:
            cfg = S5RFConfig(input_dim=train_data.input_dim, output_dim=train_data.num_classes, **dict(config or {}))
        torch.manual_seed(recipe.seed)
        model = S5RFClassifier(cfg)
        if resume is not None:
            model.load_state_dict(resume.state_dict)
        dataset = dataset_info(source, train_data)
        return train(model, train_data, test_data, recipe, out_path, dataset, ctx=ctx,
                     resume_state=resume.extra if resume is not None else None,
                     param_transform=param_transform, extra=extra, progress=progress)
    finally:
        teardown(ctx)


def train_digits_default(out_path: str | Path, epochs: int | None = None, progress: bool = False,
                         **recipe_overrides: Any) -> dict[str, Any]:
    """Train the embedded digits default into `out_path` (fewer `epochs` for quick tests); returns metrics."""
    fields = {**DIGITS_DEFAULT["recipe"], **recipe_overrides}
    if epochs is not None:
        fields["epochs"] = epochs
    return run({"kind": "digits"}, Recipe(**fields), out_path, config=DIGITS_DEFAULT["config"], progress=progress)
