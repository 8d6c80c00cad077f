"""Reference definition of twinrender's networks, noise generator and samplers (PyTorch).

This file is the single source of truth for the architecture. The Swift implementation in
`Sources/TwinInference/` follows it operation by operation; the training recipe
(`scripts/train/`) trains these modules; `scripts/reference/make_fixtures.py` writes the
fixtures the Swift tests compare against.

Tensor names produced by `state_dict()` here are the names stored in the safetensors files.

Decoder: TAESD's decoder (madebyollin/taesd, `Decoder()` in taesd.py) with the width made a
parameter; at width 64 the module indices, and therefore the tensor names, are TAESD's own.

Denoiser: a small conditional UNet over latents, epsilon prediction:
    conv_in -> [ResBlock x num_res_blocks (+ Downsample)] per level -> mid (ResBlock,
    TransformerBlock with self- and cross-attention, ResBlock) -> up path with skip concat ->
    GroupNorm, SiLU, conv_out.
Conditioning: context tokens = [identity, garment, colour, pattern, pose, background ...]
(one token per vocabulary in `model.json` order, after the identity), each `ctx_dim` wide.
The learned null condition (classifier-free guidance) is `null_identity` for the identity and
the extra last row of every attribute embedding table. The pooled condition (sum of tokens)
goes through `cond_mlp` and is added to the timestep embedding that every ResBlock receives.
"""

import math
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- decoder / encoder (TAESD)

def conv(n_in, n_out, **kw):
    return nn.Conv2d(n_in, n_out, 3, padding=1, **kw)


class Clamp(nn.Module):
    def forward(self, x):
        return torch.tanh(x / 3) * 3


class Block(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.conv = nn.Sequential(conv(n_in, n_out), nn.ReLU(), conv(n_out, n_out), nn.ReLU(), conv(n_out, n_out))
        self.skip = nn.Conv2d(n_in, n_out, 1, bias=False) if n_in != n_out else nn.Identity()
        self.fuse = nn.ReLU()

    def forward(self, x):
        return self.fuse(self.conv(x) + self.skip(x))


def Decoder(latent_channels=4, width=64):
    """Latent (B, latent_channels, h, w) -> RGB (B, 3, 8h, 8w), roughly in [0, 1]."""
    w = width
    return nn.Sequential(
        Clamp(), conv(latent_channels, w), nn.ReLU(),
        Block(w, w), Block(w, w), Block(w, w), nn.Upsample(scale_factor=2), conv(w, w, bias=False),
        Block(w, w), Block(w, w), Block(w, w), nn.Upsample(scale_factor=2), conv(w, w, bias=False),
        Block(w, w), Block(w, w), Block(w, w), nn.Upsample(scale_factor=2), conv(w, w, bias=False),
        Block(w, w), conv(w, 3),
    )


def Encoder(latent_channels=4, width=64):
    """RGB in [0, 1] -> latent. Used for training only; never shipped."""
    w = width
    return nn.Sequential(
        conv(3, w), Block(w, w),
        conv(w, w, stride=2, bias=False), Block(w, w), Block(w, w), Block(w, w),
        conv(w, w, stride=2, bias=False), Block(w, w), Block(w, w), Block(w, w),
        conv(w, w, stride=2, bias=False), Block(w, w), Block(w, w), Block(w, w),
        conv(w, latent_channels),
    )


# ---------------------------------------------------------------- denoiser

def timestep_embedding(t, dim):
    """Sinusoidal embedding: [cos(t*f_0..f_{h-1}), sin(t*f_0..f_{h-1})], f_i = 10000^(-i/h), h = dim/2."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class ResBlock(nn.Module):
    """x + conv2(silu(gn2(conv1(silu(gn1(x))) + emb_proj(silu(emb))))) with a 1x1 skip when widths differ."""

    def __init__(self, c_in, c_out, emb_dim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in, eps=1e-5)
        self.conv1 = conv(c_in, c_out)
        self.emb_proj = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out, eps=1e-5)
        self.conv2 = conv(c_out, c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head attention; self-attention when context is None. Softmax(q k^T / sqrt(d)) v."""

    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(ctx_dim, dim, bias=False)
        self.to_v = nn.Linear(ctx_dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x, context=None):
        ctx = x if context is None else context
        b, n, d = x.shape
        h = self.heads
        q = self.to_q(x).view(b, n, h, d // h).transpose(1, 2)
        k = self.to_k(ctx).view(b, ctx.shape[1], h, d // h).transpose(1, 2)
        v = self.to_v(ctx).view(b, ctx.shape[1], h, d // h).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1)
        o = (w @ v).transpose(1, 2).reshape(b, n, d)
        return self.to_out(o)


class TransformerBlock(nn.Module):
    """GroupNorm -> tokens; LN+self-attn, LN+cross-attn(context), LN+FF(GELU); tokens -> + x."""

    def __init__(self, dim, ctx_dim, heads, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, dim, eps=1e-5)
        self.ln1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, ctx_dim, heads)
        self.ln3 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, 4 * dim)
        self.ff2 = nn.Linear(4 * dim, dim)

    def forward(self, x, context):
        b, c, hh, ww = x.shape
        t = self.norm(x).flatten(2).transpose(1, 2)  # (B, HW, C)
        t = t + self.attn1(self.ln1(t))
        t = t + self.attn2(self.ln2(t), context)
        t = t + self.ff2(F.gelu(self.ff1(self.ln3(t))))
        return x + t.transpose(1, 2).reshape(b, c, hh, ww)


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = conv(c, c)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class Denoiser(nn.Module):
    """Conditional UNet. cfg keys: latent_channels, channels, channel_mult, num_res_blocks,
    norm_groups, heads, emb_dim, ctx_dim, identity_dim, vocab_sizes (list, model.json order)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ch, mult, nrb, g = cfg["channels"], cfg["channel_mult"], cfg["num_res_blocks"], cfg["norm_groups"]
        emb, ctx = cfg["emb_dim"], cfg["ctx_dim"]
        self.time_mlp = nn.Sequential(nn.Linear(ch, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.identity_proj = nn.Linear(cfg["identity_dim"], ctx)
        self.null_identity = nn.Parameter(torch.zeros(cfg["identity_dim"]))
        # Row n of each table (n = vocabulary size) is the learned null token.
        self.attr_embed = nn.ModuleList([nn.Embedding(n + 1, ctx) for n in cfg["vocab_sizes"]])
        self.cond_mlp = nn.Sequential(nn.Linear(ctx, emb), nn.SiLU(), nn.Linear(emb, emb))

        self.conv_in = conv(cfg["latent_channels"], ch)
        self.down = nn.ModuleList()
        skips = [ch]
        c = ch
        for level, m in enumerate(mult):
            blocks = nn.ModuleList()
            for _ in range(nrb):
                blocks.append(ResBlock(c, ch * m, emb, g))
                c = ch * m
                skips.append(c)
            stage = nn.Module()
            stage.res = blocks
            if level != len(mult) - 1:
                stage.downsample = Downsample(c)
                skips.append(c)
            self.down.append(stage)
        self.mid1 = ResBlock(c, c, emb, g)
        self.mid_attn = TransformerBlock(c, ctx, cfg["heads"], g)
        self.mid2 = ResBlock(c, c, emb, g)
        self.up = nn.ModuleList()
        for level, m in reversed(list(enumerate(mult))):
            blocks = nn.ModuleList()
            for _ in range(nrb + 1):
                blocks.append(ResBlock(c + skips.pop(), ch * m, emb, g))
                c = ch * m
            stage = nn.Module()
            stage.res = blocks
            if level != 0:
                stage.upsample = Upsample(c)
            self.up.append(stage)
        self.norm_out = nn.GroupNorm(g, c, eps=1e-5)
        self.conv_out = conv(c, cfg["latent_channels"])

    def context(self, identity, attrs):
        """identity: (B, identity_dim) float; attrs: (B, n_vocabs) long, value n_i = null.
        Returns context tokens (B, 1 + n_vocabs, ctx_dim)."""
        toks = [self.identity_proj(identity)]
        for i, table in enumerate(self.attr_embed):
            toks.append(table(attrs[:, i]))
        return torch.stack(toks, dim=1)

    def forward(self, x, t, context):
        emb = self.time_mlp(timestep_embedding(t, self.cfg["channels"]))
        emb = emb + self.cond_mlp(context.sum(dim=1))
        h = self.conv_in(x)
        hs = [h]
        for stage in self.down:
            for block in stage.res:
                h = block(h, emb)
                hs.append(h)
            if hasattr(stage, "downsample"):
                h = stage.downsample(h)
                hs.append(h)
        h = self.mid1(h, emb)
        h = self.mid_attn(h, context)
        h = self.mid2(h, emb)
        for stage in self.up:
            for block in stage.res:
                h = block(torch.cat([h, hs.pop()], dim=1), emb)
            if hasattr(stage, "upsample"):
                h = stage.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


# ---------------------------------------------------------------- noise

MASK64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def gaussian_noise(seed, stream, count):
    """Counter-based standard normal noise. Element i of stream s (the image index) for seed:
        u1 = uniform(splitmix64(key ^ (2i)))    u2 = uniform(splitmix64(key ^ (2i+1)))
        key = splitmix64(seed) ^ (s << 40)       uniform(z) = ((z >> 11) + 0.5) * 2^-53
        n_i = float32( sqrt(-2 ln u1) * cos(2 pi u2) )     (computed in float64)
    Each value depends only on (seed, stream, i): any thread may compute any element."""
    key = splitmix64(seed & MASK64) ^ ((stream << 40) & MASK64)
    out = np.empty(count, dtype=np.float32)
    for i in range(count):
        z1 = splitmix64(key ^ (2 * i))
        z2 = splitmix64(key ^ (2 * i + 1))
        u1 = ((z1 >> 11) + 0.5) * 2.0 ** -53
        u2 = ((z2 >> 11) + 0.5) * 2.0 ** -53
        out[i] = np.float32(math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2))
    return out


# ---------------------------------------------------------------- schedule and samplers

def alphas_cumprod(cfg):
    """'scaled_linear' (Stable Diffusion): betas = linspace(sqrt(b0), sqrt(b1), T)^2, in float64."""
    T, b0, b1 = cfg["train_timesteps"], cfg["beta_start"], cfg["beta_end"]
    betas = np.linspace(b0 ** 0.5, b1 ** 0.5, T, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas)


def timesteps(cfg, steps):
    """'trailing' spacing: t_i = round(T - i*T/steps) - 1 for i = 0..steps-1 (descending)."""
    T = cfg["train_timesteps"]
    return [int(round(T - i * T / steps)) - 1 for i in range(steps)]


def guided_eps(model, x, t, ctx_cond, ctx_null, guidance):
    """Conditional and unconditional passes batched together: eps_u + g (eps_c - eps_u)."""
    b = x.shape[0]
    xx = torch.cat([x, x])
    tt = torch.full((2 * b,), t, dtype=torch.long)
    eps = model(xx, tt, torch.cat([ctx_cond, ctx_null]))
    eps_c, eps_u = eps[:b], eps[b:]
    return eps_u + guidance * (eps_c - eps_u)


def ddim_sample(model, cfg, x, ctx_cond, ctx_null, steps, guidance):
    """DDIM, eta = 0. The schedule's scalars are float64, cast to float32 per step."""
    ac = alphas_cumprod(cfg)
    ts = timesteps(cfg, steps)
    for i, t in enumerate(ts):
        eps = guided_eps(model, x, t, ctx_cond, ctx_null, guidance)
        a = ac[t]
        a_prev = ac[ts[i + 1]] if i + 1 < len(ts) else 1.0
        # x_prev = sqrt(a_prev) * x0 + sqrt(1 - a_prev) * eps, x0 = (x - sqrt(1-a) eps) / sqrt(a)
        c_x = np.float32(math.sqrt(a_prev) / math.sqrt(a))
        c_e = np.float32(math.sqrt(1 - a_prev) - math.sqrt(a_prev) * math.sqrt(1 - a) / math.sqrt(a))
        x = c_x * x + c_e * eps
    return x


def dpmpp_2m_sample(model, cfg, x, ctx_cond, ctx_null, steps, guidance):
    """DPM-Solver++(2M) (Lu et al. 2022, data prediction, multistep order 2), as in diffusers'
    DPMSolverMultistepScheduler with lower_order_final: the last step to t = -1 (alpha = 1,
    sigma = 0) returns the data prediction x0 itself; the first step is first order."""
    ac = alphas_cumprod(cfg)
    ts = timesteps(cfg, steps)
    prev_x0 = None
    prev_h = None
    for i, t in enumerate(ts):
        eps = guided_eps(model, x, t, ctx_cond, ctx_null, guidance)
        a_t, s_t = math.sqrt(ac[t]), math.sqrt(1 - ac[t])
        x0 = (x - np.float32(s_t) * eps) / np.float32(a_t)
        if i + 1 == len(ts):
            x = x0
            break
        t_next = ts[i + 1]
        a_n, s_n = math.sqrt(ac[t_next]), math.sqrt(1 - ac[t_next])
        lam_t, lam_n = math.log(a_t / s_t), math.log(a_n / s_n)
        h = lam_n - lam_t
        if prev_x0 is None:
            d = x0
        else:
            r = prev_h / h
            d = np.float32(1 + 1 / (2 * r)) * x0 - np.float32(1 / (2 * r)) * prev_x0
        x = np.float32(s_n / s_t) * x - np.float32(a_n * (math.exp(-h) - 1)) * d
        prev_x0, prev_h = x0, h
    return x
