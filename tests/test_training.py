"""Training: recipe, checkpoints, resume, determinism, the QAT hook, s5rf-train / s5rf-eval (real runs of a few steps)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from spike_files import write_shd_dir

from s5rf_neuro import training
from s5rf_neuro.checkpoint import load_checkpoint
from s5rf_neuro.commands.evaluate import main as eval_main
from s5rf_neuro.commands.train import build_parser, settings
from s5rf_neuro.commands.train import main as train_main
from s5rf_neuro.model import S5RFClassifier
from s5rf_neuro.config import S5RFConfig

TINY = {"num_neurons": 16, "num_blocks": 4, "num_layers": 2}
TINY_ARGS = ["--num-neurons", "16", "--num-blocks", "4", "--num-layers", "2", "--batch-size", "8", "--no-progress"]


@pytest.fixture(scope="module")
def shd_dir(tmp_path_factory) -> Path:
    return write_shd_dir(tmp_path_factory.mktemp("shd") / "shd", train_per_class=2, test_per_class=1)


def shd_source(root: Path, **binning) -> dict:
    return {"kind": "shd", "root": str(root), "binning": binning or {"mode": "duration", "bins": 50}}


def tiny_run(root: Path, out: Path, epochs: int = 1, seed: int = 0, **kw) -> dict:
    recipe = training.Recipe(epochs=epochs, batch_size=8, seed=seed, **kw.pop("recipe", {}))
    return training.run(shd_source(root), recipe, out, config=TINY, progress=False, **kw)


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def one_line_error(capsys, prog: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"{prog}: error: "), err
    return err


def test_parameter_groups_follow_the_recipe():
    model = S5RFClassifier(S5RFConfig(input_dim=4, output_dim=3, **TINY))
    recipe = training.Recipe(lr=0.01, lr_ssm=0.002, weight_decay=0.05)
    groups = {g["name"]: g for g in training.parameter_groups(model, recipe)}
    names = {id(p): n for n, p in model.named_parameters()}
    ssm = {names[id(p)] for p in groups["ssm"]["params"]}
    assert ssm == {f"layers.{i}.{leaf}" for i in range(2) for leaf in ("lambda_param", "log_step")}
    assert groups["ssm"]["lr"] == 0.002 and groups["ssm"]["weight_decay"] == 0.0
    weights = {names[id(p)] for p in groups["weights"]["params"]}
    assert weights == {"layers.0.input_weight_ri", "layers.1.input_weight_ri", "readout_weight"}
    assert groups["weights"]["lr"] == 0.01 and groups["weights"]["weight_decay"] == 0.05
    assert {names[id(p)] for p in groups["other"]["params"]} == {"readout_logit"}
    assert sum(len(g["params"]) for g in groups.values()) == len(list(model.parameters()))
    assert training.cosine_factor(0, 100) == 1.0 and training.cosine_factor(100, 100) == 0.0
    assert training.cosine_factor(50, 100) == pytest.approx(0.5)


def test_digits_default_session_model(digits_checkpoint):
    """The session's digits model (conftest: `train_digits_default` for a few epochs) is a complete checkpoint."""
    from conftest import DIGITS_TEST_EPOCHS

    ckpt = load_checkpoint(digits_checkpoint)
    assert ckpt.dataset.source == {"kind": "digits", "steps_per_row": 4, "levels": 4}
    assert ckpt.dataset.name == "digits" and ckpt.dataset.time_steps == 32 and ckpt.dataset.input_dim == 32
    assert ckpt.config.num_neurons == training.DIGITS_DEFAULT["config"]["num_neurons"]
    assert ckpt.metrics["test_accuracy"] > 0.6  # a few epochs, far above 10 % chance
    assert len(ckpt.metrics["spikes_per_sample"]) == ckpt.config.num_layers
    assert all(s > 0 for s in ckpt.metrics["spikes_per_sample"])
    assert ckpt.extra["epoch"] == DIGITS_TEST_EPOCHS and "optimizer" in ckpt.extra
    lines = training.metrics_path(digits_checkpoint).read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == list(range(1, DIGITS_TEST_EPOCHS + 1))


def test_deterministic_on_cpu_and_seed_matters(tmp_path, shd_dir):
    tiny_run(shd_dir, tmp_path / "a.ckpt", seed=1, recipe={"time_jitter": 1.0, "channel_shift": 2})
    tiny_run(shd_dir, tmp_path / "b.ckpt", seed=1, recipe={"time_jitter": 1.0, "channel_shift": 2})
    tiny_run(shd_dir, tmp_path / "c.ckpt", seed=2, recipe={"time_jitter": 1.0, "channel_shift": 2})
    a, b, c = (load_checkpoint(tmp_path / f"{n}.ckpt").state_dict for n in "abc")
    assert_same_weights(a, b)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_resume_equals_uninterrupted(tmp_path, shd_dir):
    tiny_run(shd_dir, tmp_path / "full.ckpt", epochs=2, recipe={"cutmix": 0.5})
    first = tmp_path / "first.ckpt"

    class StopAfter:
        def __init__(self, steps: int) -> None:
            self.left = steps

        def __call__(self, params):
            if self.left == 0:
                raise KeyboardInterrupt
            self.left -= 1
            return {}

    steps_per_epoch = 40 // 8
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C in the middle of epoch 2
        tiny_run(shd_dir, first, epochs=2, recipe={"cutmix": 0.5},
                 param_transform=StopAfter(steps_per_epoch + 1 + 3))  # epoch 1 + its evaluation + 3 steps
    interrupted = load_checkpoint(first)  # the last complete checkpoint is intact
    assert interrupted.extra["epoch"] == 1 and not list(tmp_path.glob("*.tmp"))
    log = training.metrics_path(first)
    assert len(log.read_text().splitlines()) == 1
    with log.open("a") as fh:  # lines the checkpoint does not hold: a later epoch, a line cut short
        fh.write('{"epoch": 2, "stale": true}\n{"epoch": 3, "test_acc')
    assert train_main(["--resume", str(first), "--no-progress"]) == 0
    resumed = load_checkpoint(first)
    assert resumed.extra["epoch"] == 2
    assert_same_weights(resumed.state_dict, load_checkpoint(tmp_path / "full.ckpt").state_dict)
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2] and "stale" not in lines[1]


def test_param_transform_hook_is_used_for_training_and_evaluation(tmp_path, shd_dir):
    silenced = lambda params: {"layers.0.input_weight_ri": params["layers.0.input_weight_ri"] * 0.0}  # noqa: E731
    out = tmp_path / "hook.ckpt"
    metrics = tiny_run(shd_dir, out, param_transform=silenced, extra={"qat": {"weight_bits": 8}})
    assert metrics["spikes_per_sample"] == [0.0, 0.0]
    ckpt = load_checkpoint(out)
    assert ckpt.extra["qat"] == {"weight_bits": 8}
    torch.manual_seed(0)  # the initialisation `training.run` makes for seed 0
    before = S5RFClassifier(ckpt.config)
    doubled = lambda params: {k: v * 2.0 for k, v in params.items() if k.endswith("input_weight_ri")}  # noqa: E731
    tiny_run(shd_dir, out, param_transform=doubled)
    after = load_checkpoint(out).state_dict
    assert not torch.equal(after["layers.0.input_weight_ri"], before.state_dict()["layers.0.input_weight_ri"])


def test_train_and_eval_commands_on_shd_layout(tmp_path, shd_dir, capsys):
    out = tmp_path / "shd.ckpt"
    args = ["-o", str(out), "--data", "shd", "--data-dir", str(shd_dir), "--bins", "60", "--epochs", "1", *TINY_ARGS]
    assert train_main(args) == 0
    assert "test accuracy" in capsys.readouterr().out
    ckpt = load_checkpoint(out)
    assert ckpt.dataset.source == {"kind": "shd", "root": str(shd_dir),
                                      "binning": {"mode": "duration", "bins": 60}, "channels": 140}
    assert ckpt.dataset.time_steps == 60 and ckpt.dataset.input_dim == 140 and len(ckpt.dataset.class_names) == 20
    assert eval_main([str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["samples"] == 20 and result["accuracy"] == pytest.approx(ckpt.metrics["test_accuracy"])
    assert len(result["spikes_per_sample"]) == 2
    assert result["spikes_per_sample"] == pytest.approx(ckpt.metrics["spikes_per_sample"])
    fixed = tmp_path / "fixed.ckpt"
    assert train_main(["-o", str(fixed), "--data", "shd", "--data-dir", str(shd_dir), "--binning", "fixed",
                       "--bin-ms", "20", "--epochs", "0", *TINY_ARGS]) == 0
    binning = load_checkpoint(fixed).dataset.source["binning"]
    assert binning["mode"] == "fixed" and binning["bin_ms"] == 20 and 30 <= binning["time_steps"] <= 61
    assert eval_main([str(out), "--data", "digits"]) == 2  # 32 digits channels for a 140-channel model
    assert "takes inputs of shape (samples, any, 140)" in one_line_error(capsys, "s5rf-eval")


def test_presets_and_layering(tmp_path):
    parser = build_parser()
    source, recipe, config, resume = settings(parser, parser.parse_args(["--preset", "shd", "--data-dir", "D"]))
    assert source["kind"] == "shd" and source["binning"] == {"mode": "duration", "bins": 250} and resume is None
    assert config == {"num_layers": 2, "num_neurons": 128, "num_blocks": 32, "dropout": 0.1,
                      "eta_min": 0.004, "eta_max": 0.1}
    assert (recipe.batch_size, recipe.epochs, recipe.lr, recipe.lr_ssm) == (32, 20, 0.004, 0.002)
    source, recipe, config, _ = settings(parser, parser.parse_args(
        ["--preset", "ssc", "--data", "spoken-digits", "--data-dir", "D", "--epochs", "3", "--no-keep-imag"]))
    assert source["kind"] == "spoken-digits" and recipe.epochs == 3 and recipe.cutmix > 0
    assert config["num_neurons"] == 512 and config["num_layers"] == 4 and config["keep_imag"] is False
    source, recipe, config, _ = settings(parser, parser.parse_args([]))
    assert source == {"kind": "digits"} and config == training.DIGITS_DEFAULT["config"]
    assert recipe == training.Recipe(**training.DIGITS_DEFAULT["recipe"])


@pytest.mark.parametrize("argv, option", [
    (["--epochs", "-1"], "--epochs"),
    (["--dropout", "1.0"], "--dropout"),
    (["--dropout", "-0.1"], "--dropout"),
    (["--preset", "mnist"], "--preset"),
    (["--data", "shd"], "--data-dir"),
    (["--batch-size", "0"], "--batch-size"),
    (["--discretization", "euler"], "--discretization"),
    (["--data-dir", "x"], "--data-dir"),
    (["--synops-penalty", "-0.5"], "--synops-penalty"),
    (["--synops-penalty", "nan"], "--synops-penalty"),
    (["--synops-penalty", "inf"], "--synops-penalty"),
    (["--synops-target", "-5"], "--synops-target"),
    (["--num-neurons", "0"], "--num-neurons: must be positive, got 0"),
    (["--num-neurons", "10", "--num-blocks", "4"], "--num-neurons: 10 is not divisible by num_blocks=4"),
    (["--eta-min", "2", "--eta-max", "1"], "--eta-min: 2.0 is larger than eta_max=1.0"),
    (["--readout-decay-init", "1.5"], "--readout-decay-init: must be in (0, 1)"),
    (["--cutmix", "2"], "--cutmix: must be in [0, 1], got 2.0"),
    (["--lr", "0"], "--lr: must be > 0, got 0.0"),
    (["--threads", "0"], "--threads"),
])
def test_argument_errors_name_the_option(argv, option, capsys):
    with pytest.raises(SystemExit) as exc:
        train_main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("s5rf-train: error: argument " + option), err


def test_bad_files_give_one_line_errors(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert train_main(["-o", str(tmp_path / "m.ckpt"), "--data", "ssc", "--data-dir", str(tmp_path / "empty")]) == 2
    assert "missing ssc_train.h5" in one_line_error(capsys, "s5rf-train")
    (tmp_path / "junk.ckpt").write_text("junk")
    assert train_main(["--resume", str(tmp_path / "junk.ckpt")]) == 2
    assert "junk.ckpt" in one_line_error(capsys, "s5rf-train")
    assert eval_main([str(tmp_path / "missing.ckpt")]) == 2
    assert "missing.ckpt" in one_line_error(capsys, "s5rf-eval")
    assert not (tmp_path / "m.ckpt").exists()


def test_console_scripts_subprocess(tmp_path):
    bin_dir = Path(sys.executable).parent
    train_exe = shutil.which("s5rf-train", path=str(bin_dir))
    proc = subprocess.run([train_exe, "--epochs", "-3"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith(
        "s5rf-train: error: argument --epochs")
    proc = subprocess.run([train_exe, "--dropout", "1.5"], capture_output=True, text=True)
    assert proc.returncode == 2 and "argument --dropout" in proc.stderr
    eval_exe = shutil.which("s5rf-eval", path=str(bin_dir))
    proc = subprocess.run([eval_exe, str(tmp_path / "none.ckpt")], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "none.ckpt" in proc.stderr


def test_synops_penalty_from_scratch_fine_tune_and_qat(tmp_path, shd_dir, capsys):
    data = ["--data", "shd", "--data-dir", str(shd_dir), "--bins", "40"]
    base = tmp_path / "base.ckpt"
    assert train_main(["-o", str(base), *data, "--epochs", "1", "--synops-penalty", "0.5", *TINY_ARGS]) == 0
    assert "synaptic operations per sample" in capsys.readouterr().out
    ckpt = load_checkpoint(base)
    assert ckpt.extra["recipe"]["synops_penalty"] == 0.5
    line = json.loads(training.metrics_path(base).read_text().splitlines()[-1])
    assert line["synaptic_ops_per_sample"] == pytest.approx(sum(line["synaptic_ops_per_layer"])) and line["synaptic_ops_per_sample"] > 0
    assert len(line["synaptic_ops_per_layer"]) == 3  # two layers and the readout
    # Another W on a trained checkpoint: a fresh fine-tune, its recipe records the new W.
    tuned = tmp_path / "tuned.ckpt"
    assert train_main(["--resume", str(base), "-o", str(tuned), "--synops-penalty", "3", "--epochs", "2",
                       "--no-progress"]) == 0
    ckpt = load_checkpoint(tuned)
    assert ckpt.extra["recipe"]["synops_penalty"] == 3.0 and ckpt.extra["epoch"] == 2
    # ... and with quantisation-aware training.
    qat = tmp_path / "qat.ckpt"
    assert train_main(["--resume", str(tuned), "-o", str(qat), "--qat", "loihi2", "--synops-penalty", "3",
                       "--epochs", "1", "--no-progress"]) == 0
    ckpt = load_checkpoint(qat)
    assert ckpt.extra["qat"]["target"] == "loihi2" and ckpt.extra["recipe"]["synops_penalty"] == 3.0
    # A budget is a new run too, recorded with the penalty.
    budget = tmp_path / "budget.ckpt"
    assert train_main(["--resume", str(tuned), "-o", str(budget), "--synops-target", "1000", "--epochs", "1",
                       "--no-progress"]) == 0
    ckpt = load_checkpoint(budget)
    assert ckpt.extra["recipe"]["synops_target"] == 1000.0 and ckpt.extra["epoch"] == 1


def test_recipe_refuses_a_bad_penalty():
    for value in (-1.0, float("nan"), float("inf")):
        with pytest.raises(training.ConfigError, match="recipe field 'synops_penalty'"):
            training.Recipe(synops_penalty=value)
    assert training.Recipe.from_dict({"epochs": 3}).synops_penalty == 0.0  # recipes saved before the field
