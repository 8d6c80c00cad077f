"""Vocabularies and twin definitions of the procedural fashion-figure dataset.

The vocabulary order here is the attribute-token order of the denoiser and of
`Models/twin-mini-v1/model.json`; changing it invalidates a trained model.
"""

from dataclasses import dataclass

GARMENTS = ["t-shirt", "dress", "jacket", "coat", "skirt", "jeans"]
COLOURS = ["red", "orange", "yellow", "green", "teal", "blue", "purple", "pink"]
PATTERNS = ["plain", "stripes", "dots"]
POSES = ["arms-down", "arms-crossed", "hand-on-hip", "walking"]
BACKGROUNDS = ["grey", "cream", "sky", "sage"]

#: (name, values) in token order.
VOCABULARIES = [
    ("garment", GARMENTS),
    ("colour", COLOURS),
    ("pattern", PATTERNS),
    ("pose", POSES),
    ("background", BACKGROUNDS),
]

COLOUR_RGB = {
    "red": (200, 30, 40),
    "orange": (240, 130, 20),
    "yellow": (245, 215, 40),
    "green": (40, 150, 50),
    "teal": (0, 150, 150),
    "blue": (35, 70, 200),
    "purple": (120, 45, 160),
    "pink": (245, 130, 185),
}

#: Pattern ink per garment colour: white on dark colours, dark navy on light ones.
PATTERN_INK = {c: ((35, 35, 70) if c in ("yellow", "pink", "orange") else (245, 245, 240)) for c in COLOURS}

BACKGROUND_RGB = {
    "grey": (200, 200, 200),
    "cream": (236, 224, 196),
    "sky": (180, 208, 232),
    "sage": (190, 214, 180),
}

NEUTRAL_TOP = (238, 236, 230)
NEUTRAL_BOTTOM = (58, 58, 68)
SHOE = (40, 32, 30)


@dataclass(frozen=True)
class Twin:
    """What makes a twin recognisable: skin, face shape, hair colour and style, body build."""

    id: str
    skin: tuple
    face: str  # round | oval | long | square
    hair_rgb: tuple
    hair: str  # long | bob | bun | pixie | ponytail | curly
    build: float  # shoulder/hip width factor
    height: float  # figure height factor


TWINS = [
    Twin("ava", (242, 206, 180), "oval", (226, 190, 96), "long", 0.92, 1.00),
    Twin("bea", (100, 64, 46), "round", (28, 24, 24), "curly", 1.05, 0.97),
    Twin("cleo", (200, 144, 106), "oval", (168, 58, 28), "bob", 0.95, 0.98),
    Twin("dana", (226, 174, 132), "square", (96, 60, 34), "ponytail", 1.15, 1.00),
    Twin("eve", (250, 216, 200), "long", (222, 222, 228), "pixie", 0.90, 1.03),
    Twin("fay", (160, 106, 72), "oval", (30, 26, 26), "bun", 1.00, 0.99),
    Twin("gia", (206, 162, 122), "round", (70, 42, 26), "long", 1.12, 0.96),
    Twin("hana", (236, 196, 162), "oval", (160, 110, 200), "bob", 1.00, 1.01),
]

TWIN_IDS = [t.id for t in TWINS]
