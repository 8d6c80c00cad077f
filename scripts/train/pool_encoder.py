"""Fixed (not learned) encoder: image -> 8-channel latent, 8x smaller.

Per 8x8 block:
- channels 0-2: the mean of RGB mapped to [-1, 1];
- channel 3: the standard deviation of luminance (texture: pattern, edges), scaled to a similar
  range;
- channels 4-7: the first block-DFT harmonic of luminance (period 8 pixels) along y (cos, sin)
  and along x (cos, sin). The mean and the deviation do not change when a pattern with the
  block's period shifts, so with channels 0-3 alone the decoder can only draw the average of
  every phase: red with white stripes comes out as a flat pink. The harmonics carry the phase,
  so the decoder can draw the stripes and dots where they are.

The denoiser thus generates a small colour image plus texture maps, and the shipped twinnet
Decoder learns the 8x super-resolution. The encoder is training-only; the model package does
not contain it.

Why not twinnet.Encoder: on the shared 2-core build machine a learned autoencoder could not be
trained within a session (about 6 s per 16-crop step under load); a fixed encoder costs
nothing, makes crop encodings exactly equal to crops of full-image encodings (for crops aligned
to the 8-pixel grid), and gives smooth, image-like latents that a small denoiser learns quickly.
The harmonic channels were added (v2) after the 4-channel model's colour errors were traced to
the lost pattern phase; their period is that of the dataset's stripes and dot grid.
"""

import math

import torch
import torch.nn.functional as F

DOWNSCALE = 8
CHANNELS = 8
TEXTURE_GAIN = 4.0
TEXTURE_OFFSET = 0.5
HARMONIC_GAIN = 5.0


def _harmonic_basis(n, device):
    """cos and sin of one period per block along a length-n axis (n a multiple of 8)."""
    phase = (torch.arange(n, device=device) % DOWNSCALE).float() * (2 * math.pi / DOWNSCALE)
    return torch.cos(phase), torch.sin(phase)


def encode(x, channels=CHANNELS):
    """x: (B, 3, H, W) in [0, 1], H and W multiples of 8 -> (B, channels, H/8, W/8).

    `channels` = 4 gives the v1 latent (mean RGB and texture only), 8 the full one.
    """
    if channels not in (4, CHANNELS):
        raise ValueError(f"the pool encoder makes 4 or {CHANNELS} channels, not {channels}")
    if x.dim() != 4 or x.shape[1] != 3 or x.shape[2] % DOWNSCALE or x.shape[3] % DOWNSCALE:
        raise ValueError(f"expected (B, 3, 8h, 8w) images, got {tuple(x.shape)}")
    rgb = F.avg_pool2d(x, DOWNSCALE) * 2 - 1
    lum = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    mean = F.avg_pool2d(lum, DOWNSCALE)
    var = (F.avg_pool2d(lum * lum, DOWNSCALE) - mean * mean).clamp_min(0)
    texture = var.sqrt() * TEXTURE_GAIN - TEXTURE_OFFSET
    if channels == 4:
        return torch.cat([rgb, texture], dim=1)
    cy, sy = _harmonic_basis(x.shape[2], x.device)
    cx, sx = _harmonic_basis(x.shape[3], x.device)
    harmonics = [F.avg_pool2d(lum * b, DOWNSCALE) * HARMONIC_GAIN
                 for b in (cy.view(1, 1, -1, 1), sy.view(1, 1, -1, 1), cx.view(1, 1, 1, -1), sx.view(1, 1, 1, -1))]
    return torch.cat([rgb, texture] + harmonics, dim=1)
