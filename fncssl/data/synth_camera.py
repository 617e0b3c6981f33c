"""Per-image domain randomisation and the camera model of the synthetic FNC images.

``draw_domain`` picks, for one image, the settings that vary between real FNC images
(exposure gain, tissue background level, gamma, defocus blur, sensor noise, column pattern
noise, JPEG compression, uneven illumination, crowding, dark tissue holes); ranges are set per
collection in :class:`~fncssl.data.synth_style.CollectionStyle` and were matched to the spread
seen across the real samples. ``expose`` turns a float stain-intensity field into the final
RGB uint8 picture: illumination, gain, colour, gamma, noise, clipping, blur and JPEG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fncssl.data.synth_style import CollectionStyle

BLACK_LEVEL = 1.0  # grey levels the sensor clips off every channel (weak channels read 0)


@dataclass(frozen=True)
class ImageDomain:
    """The randomised settings of one image (all drawn by :func:`draw_domain`)."""

    gain: float  # exposure multiplier on every stained structure
    background: float  # mean tissue autofluorescence, grey levels before gain
    gamma: float  # display gamma (1 = linear)
    blur: float  # defocus: Gaussian sigma in px applied to the whole image (0 = sharp)
    noise: float  # sensor read noise std, grey levels
    column_noise: float  # std of per-column offsets (pattern noise), grey levels
    jpeg_quality: int  # 0 = lossless, else the JPEG quality the image went through
    illumination: float  # strength of the radial fall-off of the lamp (0 = flat)
    crowding: float  # share of cells placed in dense clusters
    holes: bool  # dark tissue holes / edges present
    haze: float  # out-of-focus glow: share of the stain field spread widely
    minor_colour: float  # multiplier on the stain's two weaker channels


def draw_domain(rng: np.random.Generator, style: CollectionStyle) -> ImageDomain:
    """One image's settings; a pure function of the generator state."""
    return ImageDomain(
        gain=float(math.exp(rng.normal(0.0, style.gain_sigma))),
        background=float(style.tissue_level * math.exp(rng.normal(0.0, 0.35))),
        gamma=float(rng.uniform(0.9, 1.1)),
        blur=float(rng.uniform(0.0, style.max_blur)),
        noise=float(rng.uniform(0.6, 1.8)),
        column_noise=float(rng.uniform(0.0, 0.8) if rng.random() < 0.35 else 0.0),
        jpeg_quality=int(rng.integers(45, 90)) if rng.random() < style.jpeg_fraction else 0,
        illumination=float(rng.uniform(0.1, 0.6)),
        crowding=float(rng.uniform(0.0, style.crowding) if rng.random() < 0.5 else 0.0),
        holes=bool(rng.random() < style.hole_fraction),
        haze=float(rng.uniform(0.05, max(style.haze_max, 0.05))),
        minor_colour=float(math.exp(rng.normal(0.0, style.colour_sigma))),
    )


def linear_level(display: float, gamma: float) -> float:
    """The linear (pre-gamma) grey level that the display gamma shows as ``display`` (0-255)."""
    return 255.0 * (max(display, 0.0) / 255.0) ** (1.0 / gamma)


def illumination_field(
    rng: np.random.Generator, shape: tuple[int, int], strength: float
) -> np.ndarray:
    """float32 (H, W) lamp profile, 1 near a random centre falling off by up to ``strength``."""
    h, w = shape
    ys = ((np.arange(h, dtype=np.float32) - h * rng.uniform(0.3, 0.7)) / h) ** 2
    xs = ((np.arange(w, dtype=np.float32) - w * rng.uniform(0.3, 0.7)) / w) ** 2
    tilt = rng.uniform(-0.1, 0.1) * (np.arange(w, dtype=np.float32) / w - 0.5)
    return (1.0 - strength * (ys[:, None] + xs[None, :]) + tilt[None, :]).astype(np.float32)


def _stain_channel(stain: np.ndarray, weight: float, curve: float) -> np.ndarray:
    """One colour channel of the stain: ``weight * stain * (stain / 255) ** curve``.

    ``curve`` > 0 makes a weak channel rise faster than the main one, so the hue turns paler
    as the stain brightens (real yellow cells: G/R 0.65 where dim, 0.85 where bright)."""
    if curve <= 0:
        return stain * weight
    rel = np.maximum(stain, 0) * np.float32(1.0 / 255.0)
    return stain * cv2.pow(rel, curve) * np.float32(weight)


def _hue(rgb: tuple[float, float, float], minor: float) -> np.ndarray:
    """A colour with its brightest channel 1 and the weaker ones scaled by ``minor``."""
    c = np.asarray(rgb, np.float32)
    c = c / max(float(c.max()), 1e-6)
    weak = c < 1.0
    c[weak] = np.clip(c[weak] * minor, 0, 1)
    return c


def expose(
    rng: np.random.Generator,
    stain: np.ndarray,
    tissue: np.ndarray,
    style: CollectionStyle,
    domain: ImageDomain,
    illum: np.ndarray,
) -> np.ndarray:
    """RGB uint8 (H, W, 3) from float32 (H, W) stain and tissue fields in grey levels.

    ``illum`` is the image's lamp profile (:func:`illumination_field`), drawn by the caller
    because the annotator model needs it before the cells are drawn.

    The stain takes the collection's stain colour, the tissue autofluorescence its (redder)
    background hue. Read noise carries the background hue and shot noise the stain's, so the
    weak channels stay near zero as in the real images. Then blur, gamma, clipping and JPEG.
    """
    h, w = stain.shape
    sc, tc = _hue(style.signal_rgb, domain.minor_colour), _hue(style.background_rgb, 1.0)
    stain, tissue = stain * illum, tissue * illum
    if domain.blur > 0.3:  # optical defocus acts before the sensor adds noise
        stain = cv2.GaussianBlur(stain, (0, 0), domain.blur)
        tissue = cv2.GaussianBlur(tissue, (0, 0), domain.blur)
    read = rng.standard_normal((h, w), dtype=np.float32)
    read *= domain.noise
    if domain.column_noise > 0:
        read += rng.normal(0, domain.column_noise, (1, w)).astype(np.float32)
    shot = rng.standard_normal((h, w), dtype=np.float32)
    shot *= cv2.sqrt(np.maximum(stain, 0))
    stain = cv2.scaleAdd(shot, 0.3, stain)
    tissue = tissue + read
    out = np.empty((h, w, 3), np.uint8)
    for ch in range(3):  # weighted sum, black level, round and saturate to uint8
        own = _stain_channel(stain, float(sc[ch]), style.signal_curve[ch])
        mixed = cv2.addWeighted(own, 1.0, tissue, float(tc[ch]), -BLACK_LEVEL + 0.5)
        np.clip(mixed, 0, 255, out=mixed)
        out[..., ch] = mixed.astype(np.uint8)
    lut = np.clip(np.rint(255.0 * (np.arange(256) / 255.0) ** domain.gamma), 0, 255)
    out = cv2.LUT(out, lut.astype(np.uint8))
    sensor_defects(rng, out, weak=[ch for ch in range(3) if sc[ch] < 1.0])
    if domain.jpeg_quality:  # channel by channel, so no chroma leaks into the weak channels
        params = [cv2.IMWRITE_JPEG_QUALITY, domain.jpeg_quality]
        for ch in range(3):
            if out[..., ch].mean() < 2.0:  # a near-black channel stays near black
                continue
            ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(out[..., ch]), params)
            if ok:
                out[..., ch] = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out


def sensor_defects(rng: np.random.Generator, out: np.ndarray, weak: list[int]) -> None:
    """Add the camera's sparse defects to an RGB uint8 (H, W, 3) image, in place.

    - A noise floor in the ``weak`` channels: a share of pixels, log-uniform between 1e-5 and
      0.5 per image, reads one grey level higher (and a twentieth of that share one more), as
      in the real red images' green and blue channels (0.006% to 49% of background pixels).
    - Hot pixels: single pixels of a random channel at 25-150 grey levels, about 5-60 per
      1600x1200 image (the real red samples have 15-43 in the blue channel alone).
    """
    h, w, _ = out.shape
    share = 10.0 ** rng.uniform(-5.0, math.log10(0.5))
    for ch in weak:
        for p in (share, share / 20.0):
            k = int(rng.binomial(h * w, p))
            ys, xs = rng.integers(0, h, k), rng.integers(0, w, k)
            out[ys, xs, ch] = np.minimum(out[ys, xs, ch].astype(np.int16) + 1, 255)
    rate = 10.0 ** rng.uniform(math.log10(5.0), math.log10(60.0)) * h * w / 1_920_000
    hot = int(rng.poisson(rate))
    ys, xs, ch = rng.integers(0, h, hot), rng.integers(0, w, hot), rng.integers(0, 3, hot)
    out[ys, xs, ch] = rng.integers(25, 151, hot)
