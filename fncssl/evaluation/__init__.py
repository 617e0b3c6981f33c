"""Shared evaluation of the three FNC tasks: segmentation, detection and counting.

Every experiment is scored here: object matching (the paper's protocol and a strict
one-to-one variant), counting errors, pixel Dice/IoU, COCO AP, post-processing of probability
maps, tiled inference and reports.
"""
