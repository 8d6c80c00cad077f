"""Fixed (not learned) encoder: image -> 4-channel latent, 8x smaller.

Channels 0-2: the 8x8 block mean of RGB mapped to [-1, 1]; channel 3: the 8x8 block standard
deviation of luminance (texture: pattern, edges), scaled to a similar range. The denoiser thus
generates a small colour image plus a texture map, and the shipped twinnet Decoder learns the
8x super-resolution. The encoder is training-only; the model package does not contain it.

Why not twinnet.Encoder: on the shared 2-core build machine a learned autoencoder could not be
trained within the session (about 6 s per 16-crop step under load); a fixed encoder costs
nothing, makes crop encodings exactly equal to crops of full-image encodings, and gives
smooth, image-like latents that a small denoiser learns quickly.
"""

import torch
import torch.nn.functional as F

DOWNSCALE = 8
TEXTURE_GAIN = 4.0
TEXTURE_OFFSET = 0.5


def encode(x):
    """x: (B, 3, H, W) in [0, 1], H and W multiples of 8 -> (B, 4, H/8, W/8)."""
    if x.dim() != 4 or x.shape[1] != 3 or x.shape[2] % DOWNSCALE or x.shape[3] % DOWNSCALE:
        raise ValueError(f"expected (B, 3, 8h, 8w) images, got {tuple(x.shape)}")
    rgb = F.avg_pool2d(x, DOWNSCALE) * 2 - 1
    lum = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    mean = F.avg_pool2d(lum, DOWNSCALE)
    var = (F.avg_pool2d(lum * lum, DOWNSCALE) - mean * mean).clamp_min(0)
    texture = var.sqrt() * TEXTURE_GAIN - TEXTURE_OFFSET
    return torch.cat([rgb, texture], dim=1)
