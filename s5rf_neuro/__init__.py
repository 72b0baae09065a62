"""s5rf-neuro: deep resonate-and-fire networks from training to neuromorphic hardware."""

__version__ = "0.1.0"
