"""Segmentation networks behind one interface: ``model.encoder(x) -> list of feature maps``
(skips first, bottleneck last) and ``model(x) -> cell logits (B, 1, H, W)``."""
