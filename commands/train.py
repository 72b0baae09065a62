"""s5rf-train: train an S5-RF classifier and write a checkpoint.

Settings are layered: built-in defaults < the embedded digits default (when
training on digits without a preset) or `--preset` < options given on the
command line. With `--resume CKPT` the model, data source and recipe come from
the checkpoint; recipe options given on the command line (e.g. more
`--epochs`) override the stored ones. Launch with `torchrun` to train
data-parallel on several processes, GPUs or machines.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from typing import Any, NoReturn, Sequence

from s5rf_neuro.commands._common import CommandParser, check_device, cli_entry, positive_int
from s5rf_neuro.commands._data_args import add_data_options, source_for, source_from_args
from s5rf_neuro.config import DISCRETIZATIONS, S5RFConfig
from s5rf_neuro.errors import CheckpointError, ConfigError

DATA_DEPENDENT = ("input_dim", "output_dim")
QAT_EPOCHS = 5
"""Epochs of a fresh quantisation-aware fine-tune (--qat on a float checkpoint)."""
QAT_LR_FACTOR = 0.1
"""Learning rates of a fresh QAT fine-tune, relative to the checkpoint's recipe."""
PENALTY_LR_FACTOR = 1.0
"""Learning rates of a fresh --synops-penalty fine-tune, relative to the checkpoint's recipe. On the digits
default, a fine-tune at the full rates for the recipe's epochs kept 1-2 points more accuracy at the same
operations than 10 epochs at half the rates."""
RECIPE_OPTIONS = {
    "epochs": (int, "training epochs"),
    "batch_size": (int, "global mini-batch size"),
    "lr": (float, "learning rate of the weights (AdamW)"),
    "lr_ssm": (float, "learning rate of lambda and log-step (Adam, no weight decay)"),
    "weight_decay": (float, "AdamW weight decay on the weights"),
    "seed": (int, "random seed (initialisation, shuffling, augmentation, dropout)"),
    "time_jitter": (float, "augmentation: std of per-spike time jitter in steps (0 = off)"),
    "channel_shift": (int, "augmentation: largest random channel shift (0 = off)"),
    "cutmix": (float, "augmentation: probability of CutMix per sample (0 = off)"),
    "eval_batch_size": (int, "batch size for evaluation"),
    "synops_penalty": (float, "weight W of the energy penalty: W x synaptic operations per sample / dense MACs per "
                              "sample is added to the loss (0 = off); with --resume of a model trained with another "
                              "W: a fresh fine-tune from its weights (new optimiser and schedule, the recipe's "
                              "epochs unless --epochs)"),
    "synops_target": (float, "synaptic operations per sample left unpenalised: with --synops-penalty W only the "
                             "operations above this budget are penalised (0 = all)"),
}


def _flag(field: str) -> str:
    """The command-line option of an S5RFConfig or Recipe field."""
    return "--" + field.replace("_", "-")


def _config_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(S5RFConfig) if f.name not in DATA_DEPENDENT]


def build_parser() -> argparse.ArgumentParser:
    from s5rf_neuro.training import DIGITS_DEFAULT, PRESETS, Recipe

    parser = CommandParser(prog="s5rf-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", default=None,
                        help="checkpoint to write (default: model.ckpt, or the --resume checkpoint)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None,
                        help="paper settings: shd (2x128 neurons, 32 blocks, batch 32, 20 epochs), "
                             "ssc (4x512, 16 blocks, batch 128, 80 epochs, CutMix) or smnist (the sMNIST recipe "
                             "on --data sdigits: 2x128, 8 blocks, zoh, batch 64, 150 epochs for this small twin)")
    parser.add_argument("--resume", metavar="CKPT", default=None, help="continue training from this checkpoint")
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N (default cpu)")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_data_options(parser)

    digits = ", ".join(f"{k}={v}" for k, v in DIGITS_DEFAULT["config"].items())
    model = parser.add_argument_group(
        "model (S5RFConfig fields)",
        f"Not given: the --preset's value, else the digits default's ({digits}) on digits, else the default shown.")
    for f in _config_fields():
        flag = _flag(f.name)
        if f.type in (bool, "bool"):
            model.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=f"default {f.default}")
        elif f.name == "discretization":
            model.add_argument(flag, choices=DISCRETIZATIONS, default=None,
                               help=f"first layer's discretisation (default {f.default})")
        else:
            kind = int if isinstance(f.default, int) else float
            model.add_argument(flag, type=kind, default=None, help=f"default {f.default}")

    digits = ", ".join(f"{k}={v}" for k, v in DIGITS_DEFAULT["recipe"].items())
    plain = ", ".join(f"{k}={v}" for k, v in Recipe().to_dict().items())
    recipe = parser.add_argument_group(
        "training recipe",
        f"Not given: the --preset's value, else the digits default's ({digits}) on digits, else ({plain}).")
    for name, (kind, text) in RECIPE_OPTIONS.items():
        recipe.add_argument(_flag(name), type=kind, default=None, help=text)
    parser.add_argument("--qat", metavar="TARGET", default=None,
                        help="quantisation-aware fine-tuning for a fixed-point target (e.g. loihi2) with --resume: "
                             f"weights and decays fake-quantised in the forward pass; a model not yet QAT-trained "
                             f"gets {QAT_EPOCHS} fresh epochs at {QAT_LR_FACTOR:g}x its learning rates unless "
                             "--epochs/--lr/--lr-ssm say otherwise")
    return parser


def qat_settings(parser: argparse.ArgumentParser, args: argparse.Namespace, recipe, resume):
    """(recipe, resume checkpoint, param_transform, extra) for `--qat TARGET` (see its help)."""
    from s5rf_neuro.hardware.target import get_target
    from s5rf_neuro.model import S5RFClassifier
    from s5rf_neuro.qat import QATFormat, param_transform

    if resume is None:
        parser.error("argument --qat: needs --resume CKPT (QAT fine-tunes a trained model)")
    target = get_target(args.qat)
    if not target.quantized:
        parser.error(f"argument --qat: target {target.name!r} is not a fixed-point target")
    fmt = QATFormat(weight_bits=target.weight_bits, decay_bits=target.decay_bits, target=target.name)
    stored = resume.extra.get("qat")
    if stored is None:
        resume = dataclasses.replace(resume, extra={})
        fresh = {"epochs": QAT_EPOCHS, "lr": recipe.lr * QAT_LR_FACTOR, "lr_ssm": recipe.lr_ssm * QAT_LR_FACTOR}
        recipe = dataclasses.replace(recipe, **{k: v for k, v in fresh.items() if getattr(args, k) is None})
    elif QATFormat.from_dict(stored) != fmt:
        parser.error(f"argument --qat: {args.resume} was fine-tuned for {stored}, not for {fmt.to_dict()}")
    return recipe, resume, param_transform(S5RFClassifier(resume.config), fmt), {"qat": fmt.to_dict()}


def penalty_settings(args: argparse.Namespace, recipe, resume):
    """(recipe, resume checkpoint) for `--synops-penalty W` (or `--synops-target`) given with --resume.

    The same W and target as the checkpoint's continue its run; others start a fresh
    fine-tune from the checkpoint's weights: new optimiser and schedule, the
    recipe's epochs at PENALTY_LR_FACTOR x its learning rates (unless
    --epochs/--lr/--lr-ssm say otherwise).
    """
    if (args.synops_penalty is None and args.synops_target is None) or resume is None:
        return recipe, resume
    stored = resume.extra.get("recipe") or {}
    before = (float(stored.get("synops_penalty", 0.0)), float(stored.get("synops_target", 0.0)))
    if before == (recipe.synops_penalty, recipe.synops_target) or not resume.extra:
        return recipe, resume  # the same run continues, or QAT already started a fresh one
    fresh = {"lr": recipe.lr * PENALTY_LR_FACTOR, "lr_ssm": recipe.lr_ssm * PENALTY_LR_FACTOR}
    recipe = dataclasses.replace(recipe, **{k: v for k, v in fresh.items() if getattr(args, k) is None})
    return recipe, dataclasses.replace(resume, extra={})


_FIELD = re.compile(r"^(?:config|recipe) field '(\w+)': ")


def _as_argument_error(parser: argparse.ArgumentParser, args: argparse.Namespace, err: ConfigError) -> NoReturn:
    """A `ConfigError` of S5RFConfig or Recipe about a field given on the command line, as the
    argument error of its option (exit 2): "config field 'num_neurons': ..." -> "argument --num-neurons: ..."."""
    match = _FIELD.match(str(err))
    if match is None or getattr(args, match.group(1), None) is None:
        raise err
    parser.error(f"argument {_flag(match.group(1))}: {str(err)[match.end():]}")


def _given(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def settings(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """(source, recipe, config fields, resume checkpoint or None) from the parsed options."""
    from s5rf_neuro.checkpoint import check_training_state, load_checkpoint
    from s5rf_neuro.training import DIGITS_DEFAULT, PRESETS, Recipe

    config_given = _given(args, [f.name for f in _config_fields()])
    recipe_given = _given(args, list(RECIPE_OPTIONS))
    if args.resume:
        if args.preset or config_given:
            parser.error("argument --resume: the model comes from the checkpoint; drop --preset and model options")
        ckpt = load_checkpoint(args.resume)
        if "recipe" not in ckpt.extra:
            parser.error(f"argument --resume: {args.resume} holds no training state to resume")
        check_training_state(args.resume, ckpt.extra, ckpt.config)
        try:
            stored = Recipe.from_dict(ckpt.extra["recipe"], f"{args.resume}: training state entry 'recipe'")
        except ConfigError as err:
            message = str(err)
            raise CheckpointError(message if message.startswith(args.resume) else
                                  f"{args.resume}: training state entry 'recipe': {message}") from None
        source = source_for(parser, args, ckpt.dataset, args.resume)
        return source, Recipe.from_dict({**stored.to_dict(), **recipe_given}), {}, ckpt
    kind = args.data or (PRESETS[args.preset]["data"] if args.preset else "digits")
    source = source_from_args(parser, args, kind)
    base = PRESETS[args.preset] if args.preset else DIGITS_DEFAULT if kind == "digits" else {"config": {}, "recipe": {}}
    recipe = Recipe.from_dict({**base["recipe"], **recipe_given})
    config = {**base["config"], **config_given}
    S5RFConfig(input_dim=1, output_dim=1, **config)  # checks the model options before any data is loaded
    return source, recipe, config, None


def check_memory(source: dict, recipe, config: dict[str, Any], resume) -> None:
    """Refuse (ResourceError with the figure) a model that cannot be trained in this machine's memory.

    The data's sizes are not known before it is read, so the estimate takes the least they can be
    (the source's channels, else one; one class; the binning's steps when given, else one): a lower
    bound of the need.
    """
    from s5rf_neuro.resources import MemoryNeed, model_bytes, require

    binning = source.get("binning") or {}
    steps = binning.get("bins") or binning.get("time_steps") or 1
    if resume is not None:
        cfg = resume.config
    else:
        fields = {f.name: f.default for f in _config_fields()} | config
        cfg = S5RFConfig(input_dim=source.get("channels", 1), output_dim=1, **fields)
    need = model_bytes(cfg.input_dim, cfg.output_dim, cfg.num_neurons, cfg.num_layers,
                       mixing=cfg.discretization == "zoh", time_steps=steps, batch=recipe.batch_size, training=True)
    require(MemoryNeed(f"training {cfg.num_layers} layers x {cfg.num_neurons} neurons on batches of "
                       f"{recipe.batch_size} x {steps} steps or more", need))


@cli_entry("s5rf-train")
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import torch

    from s5rf_neuro import training
    from s5rf_neuro.distributed import launch_environment
    from s5rf_neuro.training_output import check_output

    launch_environment()
    check_device(parser, args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    output = args.output or args.resume or "model.ckpt"
    if launch_environment().rank == 0:
        given_as = f"-o {output}" if args.output else f"--resume {output}" if args.resume else f"-o {output} (default)"
        check_output(output, given_as)
    try:
        source, recipe, config, resume = settings(parser, args)
    except ConfigError as err:
        _as_argument_error(parser, args, err)
    check_memory(source, recipe, config, resume)
    transform, extra = None, None
    if args.qat:
        recipe, resume, transform, extra = qat_settings(parser, args, recipe, resume)
    recipe, resume = penalty_settings(args, recipe, resume)
    try:
        metrics = training.run(source, recipe, output, config=config, device=args.device, resume=resume,
                               param_transform=transform, extra=extra, progress=not args.no_progress)
    except ConfigError as err:
        _as_argument_error(parser, args, err)
    if launch_environment().rank != 0:
        return 0
    spikes = ", ".join(f"{s:.1f}" for s in metrics["spikes_per_sample"])
    print(f"test accuracy {metrics['test_accuracy']:.4f}; spikes per sample per layer [{spikes}]; "
          f"synaptic operations per sample {metrics['synaptic_ops_per_sample']:,.0f}; "
          f"training {metrics['train_time_s']:.1f} s; wrote {output}")
    return 0
