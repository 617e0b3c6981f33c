"""The FNC v2 data layer: archive layout, annotation formats, synthetic archive, datasets.

Nothing in this package imports from training code.
"""
