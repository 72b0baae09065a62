"""NIR writer and reader: exact round trips, NIR's own checks, a fresh-process read, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest
from nir_test_networks import (
    assert_networks_identical,
    random_float_network,
    random_int_network,
    random_spikes,
)

from s5rf_neuro.errors import FormatError
from s5rf_neuro.export.nir_reader import graph_dt
from s5rf_neuro.export.nir_writer import network_to_graph
from s5rf_neuro.export.nir_io import read_nir, write_nir
from s5rf_neuro.hardware.network import NETWORK_FORMAT_VERSION, FloatNetwork, IntNetwork, networks_identical

STOCK_TYPES = set(getattr(nir.ir, "__all_ir"))


def make_network(kind: str, num_layers: int, apply_skip: bool, keep_imag: bool, seed: int = 0):
    rng = np.random.default_rng(seed + 100 * num_layers + 10 * apply_skip + keep_imag)
    if kind == "float":
        return random_float_network(rng, num_layers, apply_skip=apply_skip, keep_imag=keep_imag)
    return random_int_network(rng, num_layers, apply_skip=apply_skip, keep_imag=keep_imag)


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message and message
    return message


@pytest.mark.parametrize("keep_imag", [True, False], ids=["imag", "real"])
@pytest.mark.parametrize("apply_skip", [True, False], ids=["skip", "noskip"])
@pytest.mark.parametrize("num_layers", [1, 2, 3, 4])
@pytest.mark.parametrize("kind", ["float", "int"])
def test_round_trip_is_exact(tmp_path, kind, num_layers, apply_skip, keep_imag):
    network = make_network(kind, num_layers, apply_skip, keep_imag)
    path = write_nir(network, tmp_path / "model.nir")
    back = read_nir(path)
    assert_networks_identical(network, back)
    assert networks_identical(network, back)
    assert [layer.skip for layer in back.layers] == [apply_skip and 0 < i < num_layers - 1 for i in range(num_layers)]
    if not keep_imag:
        imag = [layer.weight.imag for layer in back.layers] if kind == "float" else [l.weight_im for l in back.layers]
        assert all(np.all(part == 0) for part in imag)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.nir"]


@pytest.mark.parametrize("kind", ["float", "int"])
def test_golden_spikes_identical_after_round_trip(tmp_path, kind):
    golden = pytest.importorskip("s5rf_neuro.hardware.golden")
    network = make_network(kind, 4, True, True, seed=7)
    back = read_nir(write_nir(network, tmp_path / "model.nir"))
    inputs = random_spikes(np.random.default_rng(3), 6, 25, network.input_dim)
    before, after = golden.simulate(network, inputs), golden.simulate(back, inputs)
    assert any(s.any() for s in before.spikes)
    for first, second in zip(before.spikes, after.spikes):
        assert np.array_equal(first, second)
    assert np.array_equal(before.scores, after.scores)
    assert np.array_equal(before.predictions, after.predictions)


def test_networks_identical_sees_a_one_bit_change(tmp_path):
    for kind in ("float", "int"):
        network = make_network(kind, 2, False, True)
        back = read_nir(write_nir(network, tmp_path / f"{kind}.nir"))
        assert networks_identical(network, back)
        changed = back.layers[1].weight if kind == "float" else back.layers[1].weight_im
        flat = changed.view(np.int64).reshape(-1) if kind == "float" else changed.reshape(-1)
        flat[5] ^= 1
        assert not networks_identical(network, back)


def test_graph_uses_only_stock_nir_and_passes_type_checks():
    network = make_network("float", 3, True, True)
    graph = network_to_graph(network)
    assert graph.check_types()
    assert list(graph.input_type.values())[0].tolist() == [network.input_dim]
    assert list(graph.output_type.values())[0].tolist() == [network.output_dim]
    for name, node in graph.nodes.items():
        assert type(node).__name__ in STOCK_TYPES, name
        if isinstance(node, nir.NIRGraph):
            assert node.check_types()
            assert {type(n).__name__ for n in node.nodes.values()} <= STOCK_TYPES
    layer = graph.nodes["layer_1"]
    assert ("input", "skip") in layer.edges and ("spike", "skip") in layer.edges
    assert ("rotate_im_re", "state_re") in layer.edges and ("rotate_re_im", "state_im") in layer.edges
    assert "skip" not in graph.nodes["layer_0"].nodes


def test_continuous_parameters_reproduce_decays():
    dt = 1e-3
    network = make_network("float", 2, False, True)
    graph = network_to_graph(network, dt=dt)
    assert graph_dt(graph) == dt
    for index, layer in enumerate(network.layers):
        nodes = graph.nodes[f"layer_{index}"].nodes
        tau, omega = nodes["state_re"].tau, nodes["rotate_re_im"].scale
        assert np.array_equal(nodes["state_re"].r, tau) and np.array_equal(nodes["state_im"].tau, tau)
        assert np.array_equal(nodes["rotate_im_re"].scale, -omega)
        rebuilt = np.exp(-dt / tau) * np.exp(1j * omega * dt)
        np.testing.assert_allclose(rebuilt, layer.decay, rtol=1e-12)
        assert np.array_equal(nodes["weight_re"].weight, layer.weight.real)
        assert np.array_equal(nodes["weight_im"].weight, layer.weight.imag)
        assert np.array_equal(nodes["spike"].threshold, layer.threshold)
    readout_tau = graph.nodes["readout"].tau
    np.testing.assert_allclose(np.exp(-dt / readout_tau), network.readout.decay, rtol=1e-12)


def test_int_primitives_hold_dequantised_values():
    network = make_network("int", 2, False, True)
    graph = network_to_graph(network)
    layer = network.layers[0]
    nodes = graph.nodes["layer_0"].nodes
    expected = layer.weight_re * 2.0**layer.weight_exp_re / layer.state_scale
    np.testing.assert_allclose(nodes["weight_re"].weight, expected, rtol=1e-15)
    np.testing.assert_allclose(nodes["spike"].threshold, layer.threshold / layer.state_scale, rtol=1e-15)
    decay = (layer.decay_re + 1j * layer.decay_im) / network.target.decay_one
    np.testing.assert_allclose(np.exp(-1.0 / nodes["state_re"].tau), np.abs(decay), rtol=1e-12)
    meta = graph.metadata["s5rf_neuro"]
    assert meta["kind"] == "int" and meta["format_version"] == NETWORK_FORMAT_VERSION
    assert meta["target"] == network.target.to_dict()


def test_decays_without_finite_time_constant_still_round_trip(tmp_path):
    network = make_network("float", 1, False, True)
    layer = network.layers[0]
    below_one = np.nextafter(1.0, 0.0)
    layer.decay[:3] = [0.0, below_one, -below_one + 0.0j]
    graph = network_to_graph(network)
    tau = graph.nodes["layer_0"].nodes["state_re"].tau
    assert np.all(np.isfinite(tau)) and np.all(tau > 0)
    assert_networks_identical(network, read_nir(write_nir(network, tmp_path / "edge.nir")))


def test_fresh_process_reads_file_with_plain_nir(tmp_path):
    network = make_network("int", 3, True, True)
    path = write_nir(network, tmp_path / "model.nir")
    script = (
        "import json, sys, nir\n"
        "g = nir.read(sys.argv[1])\n"
        "layer = g.nodes['layer_1']\n"
        "print(json.dumps({'top': sorted(type(n).__name__ for n in g.nodes.values()),"
        " 'layer': sorted(type(n).__name__ for n in layer.nodes.values()),"
        " 'shapes': [g.input_type['input'].tolist(), g.output_type['output'].tolist()],"
        " 'kind': g.metadata['s5rf_neuro']['kind'],"
        " 'project_loaded': any(m.startswith('s5rf_neuro') for m in sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["top"] == ["Input", "LI", "Linear", "NIRGraph", "NIRGraph", "NIRGraph", "Output"]
    assert seen["layer"] == ["Input", "LI", "LI", "Linear", "Linear", "Output", "Scale", "Scale", "Scale", "Threshold"]
    assert seen["shapes"] == [[network.input_dim], [network.output_dim]]
    assert seen["kind"] == "int" and not seen["project_loaded"]


def test_write_replaces_atomically_and_failed_write_keeps_old_file(tmp_path):
    path = tmp_path / "model.nir"
    first = make_network("float", 2, False, True, seed=1)
    write_nir(first, path)
    before = path.read_bytes()
    broken = FloatNetwork(layers=first.layers, readout=first.readout, metadata={"bad": object()})
    with pytest.raises(FormatError, match="metadata"):
        write_nir(broken, path)
    assert path.read_bytes() == before
    second = make_network("int", 2, False, True, seed=2)
    write_nir(second, path)
    assert isinstance(read_nir(path), IntNetwork)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.nir"]


# ------------------------------------------------------------------ bad input


def test_foreign_graph_with_unmappable_node_names_it(tmp_path):
    path = tmp_path / "foreign.nir"
    lif = nir.LIF(tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3))
    nir.write(path, nir.NIRGraph.from_list(nir.Affine(weight=np.ones((3, 5)), bias=np.zeros(3)), lif))
    with pytest.raises(FormatError) as err:
        read_nir(path)
    message = one_line(err)
    assert "'affine'" in message and "Affine" in message and str(path) in message


def test_node_type_unknown_to_nir_is_named(tmp_path):
    path = write_nir(make_network("float", 2, False, True), tmp_path / "custom.nir")
    _replace(path, "node/nodes/layer_1/nodes/spike", "type", "ResonatorSpike", dtype=h5py.string_dtype())
    with pytest.raises(FormatError) as err:
        read_nir(path)
    assert "'layer_1/spike'" in one_line(err) and "ResonatorSpike" in str(err.value)


def test_newer_format_version_is_refused_with_both_numbers(tmp_path):
    path = write_nir(make_network("int", 2, False, True), tmp_path / "new.nir")
    _replace(path, "node/metadata/s5rf_neuro", "format_version", NETWORK_FORMAT_VERSION + 4)
    with pytest.raises(FormatError) as err:
        read_nir(path)
    message = one_line(err)
    assert f"version {NETWORK_FORMAT_VERSION + 4}" in message and f"version {NETWORK_FORMAT_VERSION}" in message


def test_truncated_file_gives_one_line_error(tmp_path):
    path = write_nir(make_network("float", 2, False, True), tmp_path / "cut.nir")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError) as err:
        read_nir(path)
    assert str(path) in one_line(err)


def test_non_hdf5_and_missing_files_give_one_line_errors(tmp_path):
    text = tmp_path / "notes.nir"
    text.write_text("not a NIR file\n")
    with pytest.raises(FormatError, match="not HDF5") as err:
        read_nir(text)
    one_line(err)
    with pytest.raises(FormatError, match="no such file") as err:
        read_nir(tmp_path / "absent.nir")
    one_line(err)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as handle:
        handle.create_dataset("x", data=np.arange(3))
    with pytest.raises(FormatError, match="no 'node' group"):
        read_nir(plain)


def test_graph_without_project_metadata_is_refused(tmp_path):
    path = tmp_path / "stock.nir"
    li = nir.LI(tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3))
    nir.write(path, nir.NIRGraph.from_list(nir.Linear(weight=np.ones((3, 5))), li))
    with pytest.raises(FormatError, match="no s5rf-neuro metadata") as err:
        read_nir(path)
    one_line(err)


def test_missing_parameter_in_metadata_is_named(tmp_path):
    path = write_nir(make_network("int", 2, False, True), tmp_path / "partial.nir")
    with h5py.File(path, "r+") as handle:
        del handle["node/nodes/layer_1/metadata/s5rf_neuro/threshold"]
    with pytest.raises(FormatError) as err:
        read_nir(path)
    assert "layer_1" in one_line(err) and "'threshold'" in str(err.value)


def test_inconsistent_metadata_shapes_are_refused(tmp_path):
    path = write_nir(make_network("float", 2, False, True), tmp_path / "shapes.nir")
    _rewrite(path, "node/nodes/layer_1", "threshold", np.ones(3))
    with pytest.raises(FormatError, match="threshold has shape") as err:
        read_nir(path)
    assert str(Path(path)) in one_line(err)


def _replace(path: Path, group: str, key: str, value, **options) -> None:
    """Replace dataset `key` of HDF5 group `group` in a written .nir, as a hand edit would."""
    with h5py.File(path, "r+") as handle:
        del handle[group][key]
        handle[group].create_dataset(key, data=value, **options)


def _rewrite(path: Path, node: str, key: str, value) -> None:
    """Replace one s5rf-neuro metadata entry of `node` in a written .nir."""
    _replace(path, f"{node}/metadata/s5rf_neuro", key, value)


IMPOSSIBLE_INT = [
    ("node/nodes/layer_0", "weight_re", lambda v: v.astype(np.int16) * 3 + 200, "beyond the 8-bit\\s+range"),
    ("node/nodes/layer_1", "decay_re", lambda v: np.full_like(v, 4096, dtype=np.int16), "must be below 1"),
    ("node/nodes/layer_0", "threshold", lambda v: -np.abs(v).astype(np.int32) - 1, "threshold must lie in"),
    ("node/nodes/layer_0", "weight_exp_im", lambda v: np.int64(40), "imaginary weight exponent 40 outside"),
    ("node/nodes/layer_1", "state_scale", lambda v: np.float64("nan"), "state_scale is nan"),
    ("node/nodes/readout", "decay", lambda v: np.full_like(v, 5000, dtype=np.int16), "decay must lie in"),
    ("node/metadata/s5rf_neuro/target", "decay_rounding", lambda v: "banana", "decay_rounding must be one of"),
    ("node/metadata/s5rf_neuro/target", "state_bits", lambda v: np.int64(200), "state_bits must be an integer"),
    ("node/metadata/s5rf_neuro/target", "cores_per_chip", lambda v: np.int64(0), "cores_per_chip must be"),
]


@pytest.mark.parametrize("node, key, edit, message", IMPOSSIBLE_INT, ids=[f"{n.split('/')[-1]}-{k}" for n, k, _, _ in IMPOSSIBLE_INT])
def test_impossible_integer_network_is_refused_when_read(tmp_path, node, key, edit, message):
    path = write_nir(make_network("int", 2, False, True), tmp_path / "edited.nir")
    if node.endswith("/target"):
        with h5py.File(path, "r+") as handle:
            old = handle[node][key][()]
        _replace(path, node, key, edit(old))
    else:
        with h5py.File(path, "r+") as handle:
            old = handle[f"{node}/metadata/s5rf_neuro/{key}"][()]
        _rewrite(path, node, key, edit(old))
    with pytest.raises(FormatError, match=message) as err:
        read_nir(path)
    assert str(path) in one_line(err)


@pytest.mark.parametrize(
    "key, edit, message",
    [
        ("threshold", lambda v: np.where(np.arange(v.size) == 0, np.nan, v), "threshold holds values that are not finite"),
        ("decay_re", lambda v: v * 0 + 1.5, "decay .* ≥ 1"),
        ("weight_im", lambda v: v * np.inf, "weight holds values that are not finite"),
    ],
)
def test_impossible_float_network_is_refused_when_read(tmp_path, key, edit, message):
    path = write_nir(make_network("float", 2, False, True), tmp_path / "edited.nir")
    with h5py.File(path, "r+") as handle:
        old = handle[f"node/nodes/layer_0/metadata/s5rf_neuro/{key}"][()]
    _rewrite(path, "node/nodes/layer_0", key, edit(old))
    with pytest.raises(FormatError, match=message) as err:
        read_nir(path)
    assert "layer_0" in one_line(err)
