"""The c-ResUnet of the FNC paper, with the exact parameter names of the published weights.

Input: float (B, 3, H, W) in [0, 1], H and W multiples of 8. Output: cell logits
(B, 1, H, W); ``sigmoid`` gives p(cell) and the published two-channel heatmap is (1 - p, p).
``encoder(x)`` returns [skip1 (F, H), skip2 (2F, H/2), skip3 (4F, H/4), bottleneck (8F, H/8)]
with F = ``n_features_start`` (16 in the paper), so SSL can train the encoder alone.
BatchNorm uses momentum 0.01 and eps 1e-3 as published.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

BN_MOMENTUM = 0.01
BN_EPS = 1e-3


class ConvBlock(nn.Module):
    """Pre-activation block: BN -> ELU -> conv -> BN -> ELU -> conv (names by position)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3) -> None:
        super().__init__()
        pad = kernel // 2
        self.conv_block = nn.Sequential(
            OrderedDict(
                [
                    ("batchnorm2d_0", nn.BatchNorm2d(c_in, eps=BN_EPS, momentum=BN_MOMENTUM)),
                    ("elu_1", nn.ELU()),
                    ("conv2d_2", nn.Conv2d(c_in, c_out, kernel, padding=pad)),
                    ("batchnorm2d_3", nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=BN_MOMENTUM)),
                    ("elu_4", nn.ELU()),
                    ("conv2d_5", nn.Conv2d(c_out, c_out, kernel, padding=pad)),
                ]
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_block(x)


class ResidualBlock(nn.Module):
    """Conv block plus a shortcut (1x1 conv when channels change, identity otherwise)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3) -> None:
        super().__init__()
        self.conv_path = ConvBlock(c_in, c_out, kernel)
        self.id_path = (
            nn.Sequential(OrderedDict([("conv2d_1", nn.Conv2d(c_in, c_out, 1))]))
            if c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_path(x) + self.id_path(x)


class Bottleneck(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.residual_block1 = ResidualBlock(c_in, c_out, 5)
        self.residual_block2 = ResidualBlock(c_out, c_out, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual_block2(self.residual_block1(x))


class CResUnetEncoder(nn.Module):
    """Colour projection, conv block, two residual blocks and the bottleneck."""

    def __init__(self, n_features_start: int = 16) -> None:
        super().__init__()
        f = n_features_start
        self.out_channels = (f, 2 * f, 4 * f, 8 * f)
        self.colorspace = nn.Conv2d(3, 1, 1)
        self.conv_block = ConvBlock(1, f)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.residual_block1 = ResidualBlock(f, 2 * f)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.residual_block2 = ResidualBlock(2 * f, 4 * f)
        self.pool3 = nn.MaxPool2d(2, 2)
        self.bottleneck = Bottleneck(4 * f, 8 * f)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        s1 = self.conv_block(self.colorspace(x))
        s2 = self.residual_block1(self.pool1(s1))
        s3 = self.residual_block2(self.pool2(s2))
        return [s1, s2, s3, self.bottleneck(self.pool3(s3))]


class UpconvBlock(nn.Module):
    """Transposed conv halving channels, concat with the skip, conv block, plus residual."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.id_path = nn.Module()
        self.id_path.up_conv = nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
        self.conv_path = ConvBlock(2 * c_out, c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = self.id_path.up_conv(x)
        return self.conv_path(torch.cat([up, skip], dim=1)) + up


class CResUnetDecoder(nn.Module):
    def __init__(self, n_features_start: int = 16) -> None:
        super().__init__()
        f = n_features_start
        self.upconv_block1 = UpconvBlock(8 * f, 4 * f)
        self.upconv_block2 = UpconvBlock(4 * f, 2 * f)
        self.upconv_block3 = UpconvBlock(2 * f, f)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        s1, s2, s3, x = features
        return self.upconv_block3(self.upconv_block2(self.upconv_block1(x, s3), s2), s1)


class Heatmap(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.heatmap = nn.Module()
        self.heatmap.conv2d = nn.Conv2d(c_in, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heatmap.conv2d(x)


class CResUnet(nn.Module):
    """The published c-ResUnet; ``forward`` returns cell logits (B, 1, H, W)."""

    def __init__(self, n_features_start: int = 16) -> None:
        super().__init__()
        self.n_features_start = n_features_start
        self.encoder = CResUnetEncoder(n_features_start)
        self.decoder = CResUnetDecoder(n_features_start)
        self.head = Heatmap(n_features_start)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.decoder(self.encoder(x)))
