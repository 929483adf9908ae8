"""CLIP image preprocessing as LLaVA-1.5 does it (CLIPImageProcessor, with LLaVA's pad-to-square)."""

import numpy as np
import torch
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
# LLaVA pads with the mean colour: int(mean · 255) per channel.
PAD_COLOUR = tuple(int(m * 255) for m in CLIP_MEAN)
RESIZE_MODES = ("pad", "crop")


def expand_to_square(image, colour=PAD_COLOUR):
    """The image centred on a square canvas of `colour` whose side is the image's longer side."""
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    canvas = Image.new(image.mode, (side, side), colour)
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas


def preprocess(image, size=336, mode="pad"):
    """A PIL image → normalised float32 tensor (3, size, size).

    mode "pad": LLaVA-1.5 (pad to square first); "crop": llava-hf's processor (resize, centre-crop).
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"resize mode must be one of {RESIZE_MODES}, got {mode!r}")
    image = image.convert("RGB")
    if mode == "pad":
        image = expand_to_square(image)
    width, height = image.size
    # The shortest side becomes `size`; the other scales with it, truncated as transformers does.
    if width <= height:
        resized = (size, int(size * height / width))
    else:
        resized = (int(size * width / height), size)
    image = image.resize(resized, Image.BICUBIC)
    left = (resized[0] - size) // 2
    top = (resized[1] - size) // 2
    image = image.crop((left, top, left + size, top + size))
    pixels = (np.asarray(image, dtype=np.float64) * (1 / 255)).astype(np.float32)
    pixels = (pixels - np.array(CLIP_MEAN, dtype=np.float32)) / np.array(CLIP_STD, dtype=np.float32)
    return torch.from_numpy(pixels.transpose(2, 0, 1).copy())


def load_image(path, size=336, mode="pad"):
    with Image.open(path) as image:
        return preprocess(image, size, mode)
