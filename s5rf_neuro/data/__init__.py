"""Spike data sets (numpy + h5py only, no torch): digits default, SHD/SSC files, spoken digits and commands."""

from s5rf_neuro.data.base import SpikeData
from s5rf_neuro.data.info import DatasetInfo
from s5rf_neuro.data.registry import KINDS, dataset_info, load_split, resolve_source

__all__ = ["KINDS", "DatasetInfo", "SpikeData", "dataset_info", "load_split", "resolve_source"]
