"""Writes the image fixtures of dev.dpn.runtime.image's tests and what PIL makes of them.

Run from the repository root with Debian's Python (PIL 9.4, torch):

    /usr/bin/python3 runtime/src/test/python/make_image_goldens.py

Every input image is drawn here from formulas and a seeded generator, never downloaded. Outputs, under
runtime/src/test/resources/images/:
  *.png *.jpg *.bmp *.gif *.webp   the inputs, in every format and pixel layout the decoder must handle
  goldens.safetensors              decoded/<file>            U8 [H,W,3]  Image.open(file).convert("RGB")
                                   resize/<file>/<W>x<H>     U8 [H,W,3]  that, .resize((W,H), BICUBIC)
                                   normalised/<file>/<mode>/<S>  F32 [3,S,S]  dpn_ref.preprocess.load_image
  expected/<stem>-<mode>-<S>.png   the S×S RGB image that preprocess normalises (resized, cropped), for the
                                   full-size cases: PNG keeps these a few KB where raw arrays would be 100s
"""

import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "reference"))
from dpn_ref.preprocess import CLIP_MEAN, CLIP_STD, expand_to_square, preprocess  # noqa: E402
from dpn_ref.safetensors_io import save_file  # noqa: E402

OUT = ROOT / "runtime/src/test/resources/images"
RNG = np.random.default_rng(20250511)


def scene(width, height, noise):
    """A smooth colour field with discs and stripes (edges to ring on) and some uniform noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 100 * np.sin(x / width * 5.0) * np.cos(y / height * 3.0)
    g = 60 + 180 * x / width
    b = 200 - 150 * y / height
    image = np.stack([r, g, b], axis=-1)
    for cx, cy, radius, colour in ((0.3, 0.4, 0.2, (250, 240, 10)), (0.7, 0.6, 0.15, (20, 10, 30))):
        inside = (x - cx * width) ** 2 + (y - cy * height) ** 2 < (radius * min(width, height)) ** 2
        image[inside] = colour
    stripes = (x // 3 % 2 == 0) & (y > 0.8 * height)
    image[stripes] = 255
    image += RNG.uniform(-noise, noise, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def png_16bit(path, samples):
    """A 16-bit PNG written by hand: PIL cannot write 16-bit RGB. Gray if samples is [H,W], RGB if [H,W,3]."""
    height, width = samples.shape[:2]
    colour_type = 0 if samples.ndim == 2 else 2
    rows = samples.astype(">u2").reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                     + chunk(b"IEND", b""))


def write_inputs():
    Image.fromarray(scene(480, 360, 0)).save(OUT / "scene-480x360.png", optimize=True)
    Image.fromarray(scene(45, 30, 40)).save(OUT / "small-45x30.png")
    Image.fromarray(scene(64, 40, 10)[:, :, 1]).save(OUT / "gray-64x40.png")

    rgba = np.dstack([scene(50, 70, 10), np.tile(np.linspace(0, 255, 50).astype(np.uint8), (70, 1))])
    rgba[:10, :10, 3] = 0  # fully transparent: PIL keeps the colour underneath
    Image.fromarray(rgba).save(OUT / "rgba-50x70.png")

    palette = Image.fromarray(scene(40, 40, 0)).quantize(colors=16, method=Image.Quantize.MEDIANCUT)
    palette.info["transparency"] = 3
    palette.save(OUT / "palette-40x40.png", transparency=3)

    # Values above 255 show PIL's quirk: a 16-bit gray PNG opens as mode I, and I → RGB clips at 255.
    gray16 = (np.arange(12 * 20).reshape(12, 20) * 3).astype(np.uint16)
    png_16bit(OUT / "gray16-20x12.png", gray16)
    png_16bit(OUT / "rgb16-20x12.png", RNG.integers(0, 65536, (12, 20, 3), dtype=np.uint16))

    photo = Image.fromarray(scene(48, 32, 4))
    photo.save(OUT / "photo.jpg", quality=90)
    photo.convert("L").save(OUT / "gray.jpg", quality=90)
    photo.convert("CMYK").save(OUT / "cmyk.jpg", quality=90)
    photo.save(OUT / "rgb.bmp")
    palette.convert("RGB").quantize(colors=16).save(OUT / "palette.bmp")

    second = Image.fromarray(scene(48, 32, 4)[::-1]).quantize(colors=32)
    photo.quantize(colors=32).save(OUT / "frames.gif", save_all=True, append_images=[second], duration=100)

    photo.save(OUT / "lossless.webp", lossless=True)
    photo.save(OUT / "lossy.webp", quality=80)
    Image.fromarray(rgba[:32, :48]).save(OUT / "alpha.webp", lossless=True)


DECODED = ["small-45x30.png", "gray-64x40.png", "rgba-50x70.png", "palette-40x40.png",
           "gray16-20x12.png", "rgb16-20x12.png", "photo.jpg", "gray.jpg", "cmyk.jpg", "rgb.bmp", "palette.bmp",
           "frames.gif", "lossless.webp", "lossy.webp", "alpha.webp"]
# (file, width, height): upscaling, downscaling, both at once, and one axis left alone (PIL skips that pass).
RESIZED = [("small-45x30.png", 71, 19), ("scene-480x360.png", 97, 130), ("gray-64x40.png", 64, 23),
           ("rgba-50x70.png", 33, 70), ("palette-40x40.png", 40, 40), ("small-45x30.png", 5, 3)]
NORMALISED = [("small-45x30.png", "pad", 32), ("small-45x30.png", "crop", 32), ("rgba-50x70.png", "pad", 32)]
# The sizes LLaVA-1.5 (336) and the tiny model (224) use; scene downscales, the others upscale.
PIPELINE = [("scene-480x360.png", "pad", 224), ("scene-480x360.png", "crop", 224),
            ("scene-480x360.png", "pad", 336), ("scene-480x360.png", "crop", 336),
            ("small-45x30.png", "pad", 336), ("small-45x30.png", "crop", 224),
            ("rgba-50x70.png", "pad", 224), ("gray-64x40.png", "crop", 336)]


def open_rgb(name):
    with Image.open(OUT / name) as image:
        return image.convert("RGB")


def normalised_input(image, size, mode):
    """The S×S image preprocess normalises: its resize and crop steps, which it does not expose."""
    if mode == "pad":
        image = expand_to_square(image)
    width, height = image.size
    resized = (size, int(size * height / width)) if width <= height else (int(size * width / height), size)
    image = image.resize(resized, Image.BICUBIC)
    left, top = (resized[0] - size) // 2, (resized[1] - size) // 2
    return image.crop((left, top, left + size, top + size))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "expected").mkdir(exist_ok=True)
    write_inputs()
    goldens = {}
    for name in DECODED:
        goldens[f"decoded/{name}"] = torch.from_numpy(np.asarray(open_rgb(name)).copy())
    for name, width, height in RESIZED:
        resized = open_rgb(name).resize((width, height), Image.BICUBIC)
        goldens[f"resize/{name}/{width}x{height}"] = torch.from_numpy(np.asarray(resized).copy())
    for name, mode, size in NORMALISED:
        with Image.open(OUT / name) as image:
            goldens[f"normalised/{name}/{mode}/{size}"] = preprocess(image, size, mode)
    save_file(goldens, OUT / "goldens.safetensors")
    for name, mode, size in PIPELINE:
        expected = normalised_input(open_rgb(name), size, mode)
        with Image.open(OUT / name) as image:
            pixels = preprocess(image, size, mode).numpy().transpose(1, 2, 0)
        unnormalised = (pixels * np.array(CLIP_STD) + np.array(CLIP_MEAN)) * 255
        assert np.abs(unnormalised - np.asarray(expected)).max() < 1e-3, f"{name} {mode} {size}"
        expected.save(OUT / "expected" / f"{Path(name).stem}-{mode}-{size}.png", optimize=True)
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {len(goldens)} goldens and {len(PIPELINE)} expected images; {total / 1024:.0f} KiB in {OUT}")


if __name__ == "__main__":
    main()
