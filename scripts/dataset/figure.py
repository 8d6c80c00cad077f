"""Procedural renderer of one stylised full-figure fashion image.

A figure (twin identity + garment in a colour and pattern + pose) stands on a studio
background. Drawing happens at 2x the output size and is box-downsampled (anti-aliasing);
shading is a soft interior darkening derived from the blurred figure silhouette, a light
from the upper left, darker outlines between parts, a studio sweep and a floor shadow.
Everything is a function of the `Spec` and the `numpy.random.Generator` passed in.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from attributes import (BACKGROUND_RGB, COLOUR_RGB, NEUTRAL_BOTTOM, NEUTRAL_TOP, PATTERN_INK,
                        SHOE, TWINS)

SUPERSAMPLE = 2


@dataclass(frozen=True)
class Spec:
    """One image's labels: indices into TWINS and the attribute vocabularies."""

    twin: int
    garment: str
    colour: str
    pattern: str
    pose: str
    background: str


class Canvas:
    """RGB canvas plus two masks: the whole figure, and the main (coloured) garment."""

    def __init__(self, size, bg):
        self.size = size
        self.rgb = Image.new("RGB", (size, size), bg)
        self.figure = Image.new("L", (size, size), 0)
        self.garment = Image.new("L", (size, size), 0)
        self.d_rgb = ImageDraw.Draw(self.rgb)
        self.d_fig = ImageDraw.Draw(self.figure)
        self.d_gar = ImageDraw.Draw(self.garment)

    def _masks(self, draw_fn, main):
        draw_fn(self.d_fig, 255)
        draw_fn(self.d_gar, 255 if main else 0)

    def limb(self, pts, width, colour, main=False):
        """A thick polyline with round joints and a darker outline."""
        dark = tuple(int(c * 0.62) for c in colour)
        for w, col in ((width + 3, dark), (width, colour)):
            self.d_rgb.line(pts, fill=col, width=int(w))
            for x, y in pts:
                r = w / 2
                self.d_rgb.ellipse([x - r, y - r, x + r, y + r], fill=col)

        def masks(d, v):
            d.line(pts, fill=v, width=int(width + 3))
            for x, y in pts:
                r = (width + 3) / 2
                d.ellipse([x - r, y - r, x + r, y + r], fill=v)
        self._masks(masks, main)

    def polygon(self, pts, colour, main=False):
        dark = tuple(int(c * 0.62) for c in colour)
        self.d_rgb.polygon(pts, fill=colour, outline=dark, width=2)
        self._masks(lambda d, v: d.polygon(pts, fill=v), main)

    def ellipse(self, box, colour, main=False, outline=True):
        dark = tuple(int(c * 0.62) for c in colour)
        self.d_rgb.ellipse(box, fill=colour, outline=dark if outline else None, width=2)
        self._masks(lambda d, v: d.ellipse(box, fill=v), main)


def _pose_joints(pose, sw, rng):
    """Arm and leg joints (figure units, x right, y down) for side s in (-1, +1)."""
    j = lambda a: a + rng.uniform(-0.012, 0.012)  # noqa: E731 - small per-image jitter
    arms, legs = {}, {}
    for s in (-1, 1):
        sh = (s * sw, 0.185)
        if pose == "arms-down":
            arms[s] = [sh, (s * j(sw + 0.025), j(0.335)), (s * j(sw + 0.03), j(0.49))]
            legs[s] = [(s * 0.045, 0.47), (s * 0.05, 0.72), (s * j(0.05), 0.95)]
        elif pose == "arms-crossed":
            arms[s] = [sh, (s * j(sw + 0.02), j(0.33)), (-s * j(0.075), j(0.30 if s > 0 else 0.315))]
            legs[s] = [(s * 0.045, 0.47), (s * 0.055, 0.72), (s * j(0.06), 0.95)]
        elif pose == "hand-on-hip":
            if s > 0:
                arms[s] = [sh, (s * j(sw + 0.10), j(0.30)), (s * j(0.085), j(0.43))]
            else:
                arms[s] = [sh, (s * j(sw + 0.025), j(0.335)), (s * j(sw + 0.03), j(0.49))]
            legs[s] = [(s * 0.045, 0.47), (s * 0.07, 0.72), (s * j(0.09), 0.95)]
        else:  # walking: wide stride, arms swinging in opposite directions
            if s > 0:
                arms[s] = [sh, (s * j(sw + 0.09), j(0.31)), (s * j(sw + 0.18), j(0.42))]
                legs[s] = [(s * 0.05, 0.47), (s * 0.15, 0.70), (s * j(0.23), 0.94)]
            else:
                arms[s] = [sh, (s * j(sw - 0.02), j(0.335)), (s * j(sw - 0.08), j(0.47))]
                legs[s] = [(s * 0.05, 0.47), (s * 0.12, 0.70), (s * j(0.19), 0.88)]
    return arms, legs


def _pattern_mask(kind, size, rng):
    """Boolean texture at canvas resolution: horizontal stripes or a dot grid."""
    yy, xx = np.mgrid[0:size, 0:size]
    period = 8 * SUPERSAMPLE
    off = rng.integers(0, period)
    if kind == "stripes":
        return ((yy + off) % period) < period // 2
    if kind == "dots":
        cy = (yy + off) % period - period / 2
        cx = (xx + off + (((yy + off) // period) % 2) * period // 2) % period - period / 2
        return cx * cx + cy * cy <= (period * 0.3) ** 2
    return np.zeros((size, size), dtype=bool)


def _background(size, rgb, rng):
    """Studio sweep: lighter wall, darker floor, soft vignette."""
    base = np.array(rgb, dtype=np.float32) * rng.uniform(0.97, 1.03)
    y = np.linspace(0, 1, size, dtype=np.float32)[:, None]
    x = np.linspace(-1, 1, size, dtype=np.float32)[None, :]
    wall = 1.06 - 0.10 * y
    floor = 1.0 / (1.0 + np.exp(-(y - 0.80) * 30))
    light = wall * (1 - 0.12 * floor) - 0.08 * (x ** 2)
    return np.clip(base[None, None, :] * light[:, :, None], 0, 255)


def render(spec, rng, out_size=128):
    """Render `spec` into an `out_size` x `out_size` RGB uint8 array."""
    twin = TWINS[spec.twin]
    S = out_size * SUPERSAMPLE
    colour = COLOUR_RGB[spec.colour]
    skin = tuple(int(np.clip(c + rng.uniform(-6, 6), 0, 255)) for c in twin.skin)
    hair = twin.hair_rgb

    scale = S * 0.86 * twin.height * rng.uniform(0.96, 1.04)
    cx = S * 0.5 + rng.uniform(-0.05, 0.05) * S
    top = S * 0.955 - scale
    P = lambda x, y: (cx + x * scale, top + y * scale)  # noqa: E731

    cv = Canvas(S, (0, 0, 0))
    b = twin.build
    sw, ww, hw = 0.125 * b, 0.088 * b, 0.108 * b
    arm_w, leg_w = 0.050 * b * scale, 0.068 * b * scale
    arms, legs = _pose_joints(spec.pose, sw, rng)
    g = spec.garment

    # Hair behind the head.
    hx, hy, rx, ry = 0.0, 0.075, 0.056, 0.070
    if twin.face == "round":
        rx, ry = 0.064, 0.066
    elif twin.face == "long":
        rx, ry = 0.050, 0.076
    elif twin.face == "square":
        rx, ry = 0.062, 0.068
    box = lambda x0, y0, x1, y1: [*P(x0, y0), *P(x1, y1)]  # noqa: E731
    if twin.hair == "long":
        cv.polygon([P(-rx - 0.018, hy - 0.01), P(rx + 0.018, hy - 0.01), P(rx + 0.035, 0.30),
                    P(-rx - 0.035, 0.30)], hair)
    elif twin.hair == "bob":
        cv.ellipse(box(-rx - 0.022, hy - ry - 0.012, rx + 0.022, hy + ry + 0.012), hair)
    elif twin.hair == "curly":
        cv.ellipse(box(-0.112, hy - 0.105, 0.112, hy + 0.075), hair)
    elif twin.hair == "bun":
        cv.ellipse(box(-0.03, hy - ry - 0.05, 0.03, hy - ry + 0.01), hair)
    elif twin.hair == "ponytail":
        cv.limb([P(rx * 0.6, hy - ry * 0.6), P(rx + 0.04, hy + 0.04), P(rx + 0.035, 0.24)], 0.04 * scale, hair)

    # Legs, then shoes.
    bare_legs = g in ("dress", "skirt")
    leg_col = colour if g == "jeans" else (skin if bare_legs else NEUTRAL_BOTTOM)
    for s in (-1, 1):
        cv.limb([P(*p) for p in legs[s]], leg_w, leg_col, main=(g == "jeans"))
        ax, ay = legs[s][2]
        cv.ellipse(box(ax - 0.032, ay - 0.008, ax + 0.032 + 0.01 * s, ay + 0.03), SHOE)

    # Neck and head.
    cv.limb([P(0, 0.11), P(0, 0.17)], 0.045 * scale, skin)
    if twin.face == "square":
        cv.d_rgb.rounded_rectangle(box(-rx, hy - ry, rx, hy + ry), radius=int(0.02 * scale), fill=skin,
                                   outline=tuple(int(c * 0.62) for c in skin), width=2)
        cv._masks(lambda d, v: d.rounded_rectangle(box(-rx, hy - ry, rx, hy + ry), radius=int(0.02 * scale),
                                                   fill=v), False)
    else:
        cv.ellipse(box(-rx, hy - ry, rx, hy + ry), skin)
    eye = (40, 30, 30)
    for s in (-1, 1):
        cv.ellipse(box(s * rx * 0.42 - 0.006, hy - 0.004, s * rx * 0.42 + 0.006, hy + 0.008), eye, outline=False)
    cv.d_rgb.line([P(-0.012, hy + ry * 0.55), P(0.012, hy + ry * 0.55)], fill=(170, 60, 70), width=2)

    # Hair cap over the forehead.
    cap = box(-rx - 0.006, hy - ry - 0.012, rx + 0.006, hy + (0.0 if twin.hair != "pixie" else -0.02))
    cv.d_rgb.chord(cap, 180, 360, fill=hair)
    cv._masks(lambda d, v: d.chord(cap, 180, 360, fill=v), False)

    # Skirt / dress / coat lower part (over the legs).
    if g in ("dress", "skirt"):
        hem = 0.70
        cv.polygon([P(-ww, 0.36), P(ww, 0.36), P(hw + 0.07, hem), P(-hw - 0.07, hem)], colour, main=True)
    elif g == "coat":
        cv.polygon([P(-ww - 0.01, 0.36), P(ww + 0.01, 0.36), P(hw + 0.06, 0.76), P(-hw - 0.06, 0.76)], colour,
                   main=True)

    # Torso garment.
    top_col = NEUTRAL_TOP if g in ("skirt", "jeans") else colour
    top_main = g not in ("skirt", "jeans")
    bottom_y = {"t-shirt": 0.49, "jacket": 0.52, "coat": 0.52, "dress": 0.40}.get(g, 0.48)
    torso = [P(-sw, 0.17), P(sw, 0.17), P(ww + 0.005, 0.36), P(hw, bottom_y), P(-hw, bottom_y),
             P(-ww - 0.005, 0.36)]
    if g in ("skirt", "jeans", "dress"):  # sleeveless: narrower straps at the shoulder
        torso = [P(-sw + 0.025, 0.17), P(sw - 0.025, 0.17), P(ww, 0.36), P(hw, bottom_y), P(-hw, bottom_y),
                 P(-ww, 0.36)]
    cv.polygon(torso, top_col, main=top_main)
    if g == "jacket":
        cv.polygon([P(-0.02, 0.175), P(0.02, 0.175), P(0.03, 0.52), P(-0.03, 0.52)], NEUTRAL_TOP)
    if g == "coat":
        cv.limb([P(-ww - 0.005, 0.37), P(ww + 0.005, 0.37)], 0.02 * scale, tuple(int(c * 0.55) for c in colour),
                main=True)

    # Arms, with sleeves for garments that have them. Arms crossed: the right arm goes over.
    order = (-1, 1) if spec.pose != "arms-crossed" else (1, -1)
    for s in order:
        pts = [P(*p) for p in arms[s]]
        cv.limb(pts, arm_w, skin)
        if g in ("jacket", "coat"):
            cv.limb(pts, arm_w * 1.25, colour, main=True)
            wx, wy = pts[2]
            r = arm_w * 0.5
            cv.ellipse([wx - r, wy - r, wx + r, wy + r], skin)
        elif g == "t-shirt":
            (x0, y0), (x1, y1) = pts[0], pts[1]
            cv.limb([(x0, y0), (x0 + 0.5 * (x1 - x0), y0 + 0.5 * (y1 - y0))], arm_w * 1.5, colour, main=True)

    # Compose: background, shading, pattern, shadow, downsample.
    rgb = np.asarray(cv.rgb, dtype=np.float32)
    fig = np.asarray(cv.figure, dtype=np.float32) / 255.0
    gar = np.asarray(cv.garment, dtype=np.float32) / 255.0
    pat = _pattern_mask(spec.pattern, S, rng) & (gar > 0.5)
    ink = np.array(PATTERN_INK[spec.colour], dtype=np.float32)
    rgb = np.where(pat[:, :, None], ink[None, None, :] * 0.85 + rgb * 0.15, rgb)

    blur_r = 0.012 * scale
    soft = np.asarray(cv.figure.filter(ImageFilter.GaussianBlur(blur_r)), dtype=np.float32) / 255.0
    lit = np.asarray(cv.figure.transform((S, S), Image.AFFINE, (1, 0, -0.01 * scale, 0, 1, -0.01 * scale))
                     .filter(ImageFilter.GaussianBlur(blur_r)), dtype=np.float32) / 255.0
    shade = 0.72 + 0.28 * soft + 0.10 * (soft - lit)
    rgb = rgb * shade[:, :, None]

    bg = _background(S, BACKGROUND_RGB[spec.background], rng)
    shadow = Image.new("L", (S, S), 0)
    fx = cx
    fy = top + 0.965 * scale
    ImageDraw.Draw(shadow).ellipse([fx - 0.16 * scale, fy - 0.02 * scale, fx + 0.16 * scale, fy + 0.025 * scale],
                                   fill=110)
    sh = np.asarray(shadow.filter(ImageFilter.GaussianBlur(0.02 * scale)), dtype=np.float32) / 255.0
    bg = bg * (1 - 0.5 * sh[:, :, None])
    out = fig[:, :, None] * rgb + (1 - fig[:, :, None]) * bg
    out = out.reshape(out_size, SUPERSAMPLE, out_size, SUPERSAMPLE, 3).mean(axis=(1, 3))
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
