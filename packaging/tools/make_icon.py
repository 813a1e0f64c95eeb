"""Render the app icon, ``studio/resources/icon.png`` (512x512 RGBA, committed as package data).

The picture says what the app does: a sunset over hills that dissolves into the coarse noise it was denoised
from (left to right), on a rounded dark tile. Drawn at 4x and downsampled, so edges are antialiased; the noise
comes from a seeded generator, so the file is the same on every run:

    python packaging/tools/make_icon.py            # writes studio/resources/icon.png
    python packaging/tools/make_icon.py --out X.png

The installers' ``.ico`` (Windows) and ``.icns`` (macOS) are made from the PNG at build time (``packaging/build.py``).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
ICON = REPO / "studio" / "resources" / "icon.png"
SIZE = 512
SCALE = 4


def _gradient(size: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    column = Image.new("RGB", (1, size))
    for y in range(size):
        t = y / (size - 1)
        column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return column.resize((size, size))


def _scene(size: int) -> Image.Image:
    """Sky, sun and two hills, filling the whole square."""
    scene = _gradient(size, (38, 52, 120), (236, 120, 92))
    draw = ImageDraw.Draw(scene)
    cx, cy, r = size * 0.58, size * 0.50, size * 0.17
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 214, 120))
    draw.polygon([(0, size * 0.70), (size * 0.35, size * 0.56), (size * 0.75, size * 0.72), (size, size * 0.64),
                  (size, size), (0, size)], fill=(58, 40, 92))
    draw.polygon([(0, size * 0.84), (size * 0.45, size * 0.72), (size, size * 0.86), (size, size), (0, size)],
                 fill=(30, 24, 56))
    return scene


def _dissolve(scene: Image.Image, cells: int = 16, seed: int = 9) -> Image.Image:
    """Replace cells with noise, with a probability falling from the left edge to the middle."""
    rng = random.Random(seed)
    out = scene.copy()
    draw = ImageDraw.Draw(out)
    cell = scene.width / cells
    for i in range(cells):
        chance = max(0.0, 1.0 - i / (cells * 0.55))
        for j in range(cells):
            if rng.random() < chance:
                grey = rng.randrange(40, 230)
                tint = tuple(max(0, min(255, grey + rng.randrange(-40, 41))) for _ in range(3))
                draw.rectangle((i * cell, j * cell, (i + 1) * cell - 1, (j + 1) * cell - 1), fill=tint)
    return out


def render(size: int = SIZE) -> Image.Image:
    big = size * SCALE
    margin, radius = round(big * 0.06), round(big * 0.2)
    tile = big - 2 * margin
    picture = _dissolve(_scene(tile)).convert("RGBA")
    mask = Image.new("L", (tile, tile), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, tile - 1, tile - 1), radius=radius, fill=255)
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    canvas.paste(picture, (margin, margin), mask)
    ImageDraw.Draw(canvas).rounded_rectangle((margin, margin, margin + tile - 1, margin + tile - 1), radius=radius,
                                             outline=(255, 255, 255, 70), width=SCALE * 4)
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ICON)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    render().save(args.out, optimize=True)
    print(args.out)


if __name__ == "__main__":
    main()
