"""fncssl: self-/semi-supervised learning for the Fluorescent Neuronal Cells v2 dataset."""

__version__ = "0.1.0"
