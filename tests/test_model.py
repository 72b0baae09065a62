"""S5RFConfig validation, initialisation, discretisation, spike function, layer and classifier."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.errors import ConfigError, DataError
from s5rf_neuro.layer import S5RFLayer
from s5rf_neuro.model import S5RFClassifier
from s5rf_neuro.surrogate import spike_fn


def config(**fields) -> S5RFConfig:
    base = dict(input_dim=6, output_dim=4, num_neurons=12, num_blocks=3, num_layers=4)
    base.update(fields)
    return S5RFConfig(**base)


# --- configuration ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, field", [
    (dict(num_neurons=10, num_blocks=3), "num_neurons"),
    (dict(discretization="euler"), "discretization"),
    (dict(input_dim=0), "input_dim"),
    (dict(output_dim=-2), "output_dim"),
    (dict(num_neurons=0), "num_neurons"),
    (dict(num_blocks=0), "num_blocks"),
    (dict(num_layers=0), "num_layers"),
    (dict(num_layers=2.0), "num_layers"),
    (dict(input_dim=True), "input_dim"),
    (dict(dropout=1.0), "dropout"),
    (dict(dropout=-0.1), "dropout"),
    (dict(eta_min=0.2, eta_max=0.1), "eta_min"),
    (dict(eta_min=0.0), "eta_min"),
    (dict(eta_max=float("nan")), "eta_max"),
    (dict(readout_decay_init=1.0), "readout_decay_init"),
    (dict(keep_imag="yes"), "keep_imag"),
    (dict(apply_skip=1), "apply_skip"),
])
def test_config_errors_name_the_field(fields: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=f"'{field}'") as info:
        config(**fields)
    assert "\n" not in str(info.value)


def test_config_dict_round_trip_and_bad_dicts() -> None:
    cfg = config(discretization="zoh", keep_imag=False, dropout=0.25, eta_min=1, eta_max=2)
    assert cfg.eta_min == 1.0 and isinstance(cfg.eta_min, float)
    assert S5RFConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown field 'hidden_size'"):
        S5RFConfig.from_dict({**cfg.to_dict(), "hidden_size": 3})
    with pytest.raises(ConfigError, match="field 'output_dim' is missing"):
        S5RFConfig.from_dict({"input_dim": 3})
    with pytest.raises(ConfigError, match="expected a mapping"):
        S5RFConfig.from_dict([1, 2])
    with pytest.raises(ConfigError, match="num_neurons"):
        S5RFClassifier(S5RFConfig.from_dict({**cfg.to_dict(), "num_neurons": 13}))


# --- initialisation ----------------------------------------------------------------------------------------------

def legs_normal_part_eigenvalues(n: int) -> np.ndarray:
    """Eigenvalues of HiPPO-LegS + (1/2)·√(2n+1)√(2k+1), computed entry by entry and with a general eigen-solver."""
    a = np.zeros((n, n))
    for row in range(n):
        for col in range(n):
            if row > col:
                a[row, col] = -math.sqrt(2 * row + 1) * math.sqrt(2 * col + 1)
            elif row == col:
                a[row, col] = -(row + 1)
    s = a + 0.5 * np.sqrt(2 * np.arange(n) + 1)[:, None] * np.sqrt(2 * np.arange(n) + 1)[None, :]
    eig = np.linalg.eigvals(s)
    return eig[np.argsort(eig.imag)]


@pytest.fixture
def float64_default():
    """Build parameters directly in float64, so initial values are compared without float32 rounding."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def test_initial_eigenvalues_are_hippo_legs_dplr_repeated_over_blocks(float64_default) -> None:
    torch.manual_seed(0)
    layer = S5RFLayer(input_dim=5, num_neurons=24, num_blocks=3)
    lam = layer.lambda_continuous.detach().numpy()
    expected = legs_normal_part_eigenvalues(8)
    assert np.allclose(expected.real, -0.5, atol=1e-9)
    for block in range(3):
        part = lam[block * 8:(block + 1) * 8]
        assert np.allclose(part[np.argsort(part.imag)], expected, atol=1e-9)
    assert np.allclose(lam.real, -0.5, rtol=0, atol=1e-15)


def test_initial_eigenvectors_input_weights_and_steps(float64_default) -> None:
    torch.manual_seed(1)
    p, h = 64, 400
    layer = S5RFLayer(input_dim=h, num_neurons=p, num_blocks=2, discretization="zoh",
                      eta_min=0.002, eta_max=0.05, apply_mixing=True)
    v = layer.mixing.numpy()
    lam = layer.lambda_continuous.detach().numpy()
    assert np.allclose(v.conj().T @ v, np.eye(p), atol=1e-10)
    assert np.abs(v[:32, 32:]).max() == 0 and np.abs(v[32:, :32]).max() == 0
    # V diagonalises the block-diagonal normal part: S V = V diag(λ).
    eig = legs_normal_part_eigenvalues(32)
    n = 32
    a = -np.tril(np.sqrt(2 * np.arange(n) + 1)[:, None] * np.sqrt(2 * np.arange(n) + 1)[None, :]) + np.diag(np.arange(n))
    s = a + 0.5 * np.sqrt(2 * np.arange(n) + 1)[:, None] * np.sqrt(2 * np.arange(n) + 1)[None, :]
    assert np.allclose(s @ v[:32, :32], v[:32, :32] * lam[None, :32], atol=1e-9)
    assert np.allclose(np.sort(lam[:32].imag), eig.imag, atol=1e-9)
    # B = V^-1 C with C lecun-normal: V B has truncated-normal parts of standard deviation 1/sqrt(H).
    c = v @ layer.input_weight.detach().numpy()
    std = 1 / math.sqrt(h)
    for part in (c.real, c.imag):
        assert abs(part.std() / std - 1) < 0.05
        assert np.abs(part).max() <= 2 * std / 0.87962566103423978 + 1e-12
    # log Δ uniform in [log η_min, log η_max].
    log_step = layer.log_step.detach().numpy()
    assert log_step.min() >= math.log(0.002) and log_step.max() <= math.log(0.05)
    assert log_step.max() - log_step.min() > 0.5 * (math.log(0.05) - math.log(0.002))


# --- discretisation ------------------------------------------------------------------------------------------------

def random_layer(discretization: str, keep_imag: bool = True, mixing: bool = False, seed: int = 0) -> S5RFLayer:
    torch.manual_seed(seed)
    layer = S5RFLayer(input_dim=3, num_neurons=6, num_blocks=2, discretization=discretization,
                      keep_imag=keep_imag, apply_mixing=mixing).double()
    with torch.no_grad():
        layer.lambda_param[:, 0] = torch.log(torch.rand(6, dtype=torch.float64) + 0.1)
        layer.lambda_param[:, 1] = torch.randn(6, dtype=torch.float64) * 2
        layer.log_step.copy_(torch.log(torch.rand(6, dtype=torch.float64) * 0.5 + 0.05))
        layer.input_weight_ri.copy_(4 * torch.randn(6, 3, 2, dtype=torch.float64))
    return layer.eval()


@pytest.mark.parametrize("discretization", ["dirac", "zoh", "bilinear"])
def test_discretisation_closed_forms(discretization: str) -> None:
    layer = random_layer(discretization)
    a = layer.lambda_param[:, 0].detach().numpy()
    omega = layer.lambda_param[:, 1].detach().numpy()
    step = np.exp(layer.log_step.detach().numpy())
    lam = -np.exp(a) + 1j * omega
    if discretization == "dirac":
        expected = np.exp(lam * step), step + 0j
    elif discretization == "zoh":
        expected = np.exp(lam * step), (np.exp(lam * step) - 1) / lam
    else:
        expected = (1 + step * lam / 2) / (1 - step * lam / 2), step / (1 - step * lam / 2)
    lam_bar, b_bar = (t.detach().numpy() for t in layer.discretise())
    assert np.allclose(lam_bar, expected[0], rtol=1e-13, atol=0)
    assert np.allclose(b_bar, expected[1], rtol=1e-13, atol=0)
    assert np.allclose(layer.lambda_continuous.detach().numpy(), lam) and np.allclose(layer.step.detach().numpy(), step)


@pytest.mark.parametrize("discretization, keep_imag, mixing", [
    ("dirac", True, False), ("dirac", False, False), ("zoh", True, True), ("zoh", False, True),
    ("bilinear", True, False), ("bilinear", False, False), ("zoh", True, False),
])
def test_layer_states_follow_the_recurrence(discretization: str, keep_imag: bool, mixing: bool) -> None:
    layer = random_layer(discretization, keep_imag, mixing, seed=3)
    u = torch.rand(2, 40, 3, dtype=torch.float64)
    lam_bar, b_bar = (t.detach().numpy() for t in layer.discretise())
    weight = layer.input_weight.detach().numpy()
    current = np.einsum("ph,bth->btp", weight, u.numpy())
    if not keep_imag:
        current = current.real + 0j
    z = np.zeros((2, 6), dtype=np.complex128)
    expected = []
    for t in range(40):
        z = lam_bar * z + b_bar * current[:, t]
        expected.append(z)
    expected = np.stack(expected, axis=1)
    if mixing:
        expected = expected @ layer.mixing.numpy().T
    states = layer.states(u).detach().numpy()
    assert np.allclose(states, expected, atol=1e-12)
    spikes = layer(u).detach().numpy()
    assert np.array_equal(spikes, (expected.real > 1.0).astype(float))
    assert 0 < spikes.mean() < 1


# --- spike function --------------------------------------------------------------------------------------------------

def test_spike_forward_is_a_strict_step_at_threshold_one() -> None:
    real_z = torch.tensor([0.0, 0.5, 1.0 - 1e-12, 1.0, 1.0 + 1e-12, 3.0], dtype=torch.float64)
    assert spike_fn(real_z - 1.0).tolist() == [0, 0, 0, 0, 1, 1]
    assert spike_fn(torch.tensor([0.0, 1e-30])).tolist() == [0.0, 1.0]


def test_spike_gradient_is_the_multi_gaussian() -> None:
    v = torch.linspace(-4, 4, 801, dtype=torch.float64, requires_grad=True)
    spike_fn(v).sum().backward()
    x = v.detach().numpy()
    h, sigma, s = 0.15, 0.5, 6.0
    gauss = lambda mu, width: np.exp(-((x - mu) ** 2) / (2 * width ** 2))  # noqa: E731
    expected = (1 + h) * gauss(0, sigma) - h * gauss(sigma, s * sigma) - h * gauss(-sigma, s * sigma)
    assert np.allclose(v.grad.numpy(), expected, atol=1e-15)
    assert v.grad[400] == pytest.approx(1.15 - 0.3 * math.exp(-1 / 72))
    assert v.grad.min() < 0  # the negative side lobes of the multi-Gaussian


# --- classifier ---------------------------------------------------------------------------------------------------

def test_model_layers_skip_and_dropout_placement() -> None:
    model = S5RFClassifier(config(num_layers=5, dropout=0.3, discretization="zoh"))
    assert model.skip_layers == (1, 2, 3)
    assert [layer.dropout for layer in model.layers] == [0.0, 0.3, 0.3, 0.3, 0.0]
    assert [layer.discretization for layer in model.layers] == ["zoh", "dirac", "dirac", "dirac", "dirac"]
    assert model.layers[0].mixing is not None and all(layer.mixing is None for layer in model.layers[1:])
    assert model.layers[0].input_dim == 6 and all(layer.input_dim == 12 for layer in model.layers[1:])
    assert S5RFClassifier(config(num_layers=5, apply_skip=False)).skip_layers == ()
    assert S5RFClassifier(config(num_layers=2, dropout=0.5)).skip_layers == ()
    assert S5RFClassifier(config(discretization="bilinear")).layers[0].mixing is None


def test_dropout_acts_only_on_middle_layers_in_training() -> None:
    torch.manual_seed(0)
    model = S5RFClassifier(config(num_layers=3, dropout=0.5)).double()
    u = torch.rand(2, 20, 12, dtype=torch.float64)
    x = torch.rand(2, 20, 6, dtype=torch.float64)
    model.train()
    for index, layer in enumerate(model.layers):
        inputs = x if index == 0 else u
        first, second = layer.states(inputs), layer.states(inputs)
        reference = layer.eval().states(inputs)
        layer.train()
        if index == 1:
            assert not torch.equal(first, second)
            assert not torch.allclose(first, reference)
        else:
            assert torch.equal(first, second) and torch.equal(first, reference)


def test_forward_composes_layers_with_skip_on_middle_layers_and_leaky_readout() -> None:
    torch.manual_seed(2)
    model = S5RFClassifier(config(num_layers=4, num_neurons=8, num_blocks=2)).double().eval()
    with torch.no_grad():
        for layer in model.layers:
            layer.input_weight_ri.mul_(30.0)
        model.readout_logit.copy_(torch.randn(4, dtype=torch.float64))
    x = (torch.rand(3, 25, 6) < 0.5).double()
    log_probs, spikes = model.forward_with_spikes(x)

    hidden = x
    peaks = []
    with torch.no_grad():
        for index, layer in enumerate(model.layers):
            out = layer(hidden)
            assert torch.equal(out, spikes[index])
            hidden = out + hidden if index in (1, 2) else out
            peaks.append(float(hidden.max()))
    assert 0 < float(torch.cat(spikes).mean()) < 1
    assert peaks == [1.0, 2.0, 2.0, 1.0]  # spikes + input on the middle layers only

    weight = model.readout_weight.detach().numpy()
    decay = 1 / (1 + np.exp(-model.readout_logit.detach().numpy()))
    drive = hidden.numpy() @ weight.T
    y = np.zeros((3, 4))
    total = np.zeros((3, 4))
    for t in range(25):
        y = decay * y + drive[:, t]
        total += y
    score = total / 25
    expected = score - np.log(np.exp(score).sum(-1, keepdims=True))
    assert np.allclose(log_probs.detach().numpy(), expected, atol=1e-12)
    assert torch.allclose(model.readout_decay, torch.sigmoid(model.readout_logit))


def test_model_shapes_modes_dtypes_and_gradients() -> None:
    torch.manual_seed(3)
    model = S5RFClassifier(config(dropout=0.1))
    assert torch.allclose(model.readout_decay, torch.full((4,), 0.8))
    assert model.readout_weight.shape == (4, 12)
    x = (torch.rand(5, 30, 6) < 0.3).to(torch.uint8)
    out = model(x)
    assert out.shape == (5, 4) and out.dtype == torch.float32
    assert torch.allclose(out.exp().sum(-1), torch.ones(5))
    torch.nn.functional.nll_loss(out, torch.tensor([0, 1, 2, 3, 0])).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    first = model.layers[0]  # the surrogate carries the loss back through every layer to the first one
    for param in (first.input_weight_ri, first.lambda_param, first.log_step):
        assert param.grad.abs().sum() > 0

    model.train()
    spikes = model.spikes(x)
    assert model.training
    assert len(spikes) == 4 and all(s.shape == (5, 30, 12) and not s.requires_grad for s in spikes)

    double = model.double()
    assert double.layers[0].lambda_continuous.dtype == torch.complex128
    assert double.layers[0].input_weight.dtype == torch.complex128
    assert double(x).dtype == torch.float64
    zoh = S5RFClassifier(config(discretization="zoh")).double()
    assert zoh.layers[0].mixing.dtype == torch.complex128 and zoh(x).dtype == torch.float64


def test_model_refuses_wrong_input_shape() -> None:
    model = S5RFClassifier(config())
    with pytest.raises(DataError, match=r"expected \(batch, T, 6\)"):
        model(torch.zeros(2, 10, 5))
    with pytest.raises(DataError):
        model(torch.zeros(10, 6))


def test_channel_mismatch_is_the_same_error_in_the_layer_and_the_model() -> None:
    model = S5RFClassifier(S5RFConfig(input_dim=6, num_neurons=8, num_layers=2, num_blocks=2, output_dim=3))
    with pytest.raises(DataError, match="expected"):
        model(torch.zeros(2, 5, 7))
    with pytest.raises(DataError, match="layer expects 6"):
        model.layers[0](torch.zeros(2, 5, 7))
