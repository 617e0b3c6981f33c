"""Supervised fine-tuning of a segmentation network on the labelled FNC images."""
