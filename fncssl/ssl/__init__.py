"""Self-supervised pretraining of the segmentation encoder on unlabelled FNC images.

One module per method (simclr, moco, byol, barlowtwins, vicreg, densecl) on a shared
LightningModule base; see ``fncssl.ssl.methods`` for the name -> class registry.
"""
