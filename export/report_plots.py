"""The report's PNG figures (matplotlib, no display needed).

Figures are built with `matplotlib.figure.Figure` (which renders with Agg), not
pyplot, so nothing global changes and no window opens. Each function writes
one PNG atomically (temporary file, then rename) and returns its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from s5rf_neuro.atomic import atomic_path

DPI = 110


def _save(figure: Figure, path: Path) -> Path:
    """Write `figure` to `path` as PNG through a temporary file in the same folder."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=DPI)  # the temporary name ends in .tmp: name the format
    return path


def spike_raster(spikes: Sequence[np.ndarray], path: Path, title: str) -> Path:
    """One panel per layer: the spikes of one sample, time steps across, neurons up.

    spikes: per layer a (T, P) bool array.
    """
    figure = Figure(figsize=(8, 1.2 + 1.8 * len(spikes)), layout="constrained")
    axes = figure.subplots(len(spikes), 1, squeeze=False, sharex=True)[:, 0]
    for index, (ax, layer) in enumerate(zip(axes, spikes)):
        steps, neurons = np.nonzero(np.asarray(layer))
        ax.scatter(steps, neurons, s=min(30.0, 2000.0 / max(layer.shape[1], 1)), marker="|", color="black", linewidths=0.8)
        ax.set_xlim(-0.5, layer.shape[0] - 0.5)
        ax.set_ylim(-0.5, layer.shape[1] - 0.5)
        ax.set_ylabel(f"layer {index}\nneuron")
        ax.set_title(f"layer {index}: {len(steps)} spikes", fontsize=9, loc="right")
    axes[-1].set_xlabel("time step")
    figure.suptitle(title)
    return _save(figure, path)


def eigenvalues(float_decays: Sequence[np.ndarray] | None, int_decays: Sequence[np.ndarray] | None, path: Path) -> Path:
    """λ̄ of every neuron in the complex plane with the unit circle, one panel per layer.

    float_decays / int_decays: per layer complex (P,) arrays (the quantised ones
    already divided by 2^decay_bits); either may be None when unavailable.
    """
    layers = len(float_decays if float_decays is not None else int_decays or [])
    figure = Figure(figsize=(3.6 * max(layers, 1), 3.8), layout="constrained")
    axes = figure.subplots(1, max(layers, 1), squeeze=False)[0]
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 361))
    for index, ax in enumerate(axes):
        ax.plot(circle.real, circle.imag, color="grey", linewidth=0.8)
        if float_decays is not None:
            ax.scatter(float_decays[index].real, float_decays[index].imag, s=14, label="float λ̄", color="tab:blue")
        if int_decays is not None:
            ax.scatter(
                int_decays[index].real, int_decays[index].imag, s=14, marker="x", label="quantised λ̄", color="tab:red"
            )
        ax.set_aspect("equal")
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlabel("Re λ̄")
        ax.set_title(f"layer {index}", fontsize=9)
    axes[0].set_ylabel("Im λ̄")
    axes[0].legend(loc="lower left", fontsize=8)
    return _save(figure, path)


def firing_rates(rates: dict[str, Sequence[float]], path: Path) -> Path:
    """Grouped bars: mean spikes per neuron per time step of each layer, one bar per run (label → rates)."""
    figure = Figure(figsize=(6.5, 3.5), layout="constrained")
    ax = figure.subplots()
    labels = list(rates)
    layers = max(len(values) for values in rates.values())
    width = 0.8 / max(len(labels), 1)
    positions = np.arange(layers)
    for offset, label in enumerate(labels):
        ax.bar(positions + (offset - (len(labels) - 1) / 2) * width, rates[label], width, label=label)
    ax.set_xticks(positions, [f"layer {index}" for index in range(layers)])
    ax.set_ylabel("spikes / neuron / step")
    ax.legend(fontsize=8)
    return _save(figure, path)


def accuracy_vs_bits(
    bits: Sequence[int], accuracy: Sequence[float | None], float_accuracy: float | None, path: Path
) -> Path:
    """Integer accuracy (%) against weight mantissa bits; None marks a width that could not be quantised."""
    figure = Figure(figsize=(5.5, 3.5), layout="constrained")
    ax = figure.subplots()
    shown = [(b, a) for b, a in zip(bits, accuracy) if a is not None]
    if shown:
        ax.plot([b for b, _ in shown], [100 * a for _, a in shown], marker="o", label="integer (golden)")
    if float_accuracy is not None:
        ax.axhline(100 * float_accuracy, color="grey", linestyle="--", label="float")
    values = [100 * a for _, a in shown] + ([100 * float_accuracy] if float_accuracy is not None else [])
    if values:
        ax.set_ylim(max(0.0, min(values) - 5.0), min(100.0, max(values)) + 2.0)
    ax.set_xticks(list(bits))
    ax.set_xlabel("weight mantissa bits")
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize=8)
    return _save(figure, path)


def tradeoff(
    names: Sequence[str],
    accuracies: Sequence[float],
    synops: Sequence[float],
    energies: dict[str, Sequence[float]],
    dense_macs: Sequence[float],
    dense_energies: dict[str, float],
    path: Path,
) -> Path:
    """Accuracy (%) against synaptic operations and against energy per inference, one point per model.

    energies: per profile name, one energy (pJ) per model; dense_macs: the dense
    networks' MACs (vertical lines on the left); dense_energies: label → pJ
    (vertical lines on the right).
    """
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True)
    percent = [100 * a for a in accuracies]
    left.scatter(synops, percent, color="tab:blue", zorder=3)
    for name, x, y in zip(names, synops, percent):
        left.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    for macs in dense_macs:
        left.axvline(macs, color="grey", linestyle="--", linewidth=1)
        left.annotate("dense MACs", (macs, min(percent)), rotation=90, fontsize=7, color="grey",
                      textcoords="offset points", xytext=(-9, 0))
    left.set_xscale("log")
    left.set_xlabel("synaptic operations per inference")
    left.set_ylabel("integer accuracy (%)")
    markers = "osD^v"
    for index, (profile, values) in enumerate(energies.items()):
        micro = [v / 1e6 for v in values]
        right.scatter(micro, percent, marker=markers[index % len(markers)], label=profile, zorder=3)
    colours = ("tab:red", "tab:orange", "tab:purple")
    for index, (label, pj) in enumerate(dense_energies.items()):
        right.axvline(pj / 1e6, color=colours[index % len(colours)], linestyle="--", linewidth=1, label=label)
    right.set_xscale("log")
    right.set_xlabel("energy per inference (µJ)")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    return _save(figure, path)
