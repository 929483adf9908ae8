import unittest

import numpy as np
import torch
from PIL import Image

from dpn_ref.preprocess import CLIP_MEAN, CLIP_STD, PAD_COLOUR, expand_to_square, preprocess


def normalised(rgb):
    return torch.tensor([(c / 255 - m) / s for c, m, s in zip(rgb, CLIP_MEAN, CLIP_STD)])


class PreprocessTest(unittest.TestCase):
    def test_pad_colour_is_the_mean_times_255(self):
        self.assertEqual(PAD_COLOUR, (122, 116, 104))

    def test_pad_mode_centres_the_image_on_the_mean_colour(self):
        image = Image.new("RGB", (40, 20), (200, 10, 10))
        square = expand_to_square(image)
        self.assertEqual(square.size, (40, 40))
        self.assertEqual(square.getpixel((20, 5)), PAD_COLOUR)
        self.assertEqual(square.getpixel((20, 20)), (200, 10, 10))
        pixels = preprocess(image, size=28)
        self.assertEqual((pixels.shape, pixels.dtype), ((3, 28, 28), torch.float32))
        # Away from the edge between colours, bicubic resampling of a flat area returns the flat colour.
        self.assertTrue(torch.allclose(pixels[:, 1, 14], normalised(PAD_COLOUR), atol=1e-6))
        self.assertTrue(torch.allclose(pixels[:, 14, 14], normalised((200, 10, 10)), atol=1e-6))

    def test_crop_mode_takes_the_centre(self):
        # Column x has red value x; at the target height no resizing happens, only the crop.
        columns = np.tile(np.arange(40, dtype=np.uint8)[None, :, None], (28, 1, 3))
        pixels = preprocess(Image.fromarray(columns), size=28, mode="crop")
        first = normalised((6, 6, 6))  # left = (40 - 28) // 2
        self.assertTrue(torch.allclose(pixels[:, 0, 0], first, atol=1e-6))
        self.assertTrue(torch.allclose(pixels[:, 0, 27], normalised((33, 33, 33)), atol=1e-6))

    def test_resizes_the_shortest_side_with_pil_bicubic(self):
        rng = np.random.default_rng(0)
        image = Image.fromarray(rng.integers(0, 256, (30, 45, 3), dtype=np.uint8))
        pixels = preprocess(image, size=20, mode="crop")
        resized = np.asarray(image.resize((30, 20), Image.BICUBIC), dtype=np.float64)[:, 5:25] / 255
        expected = (resized - np.array(CLIP_MEAN)) / np.array(CLIP_STD)
        self.assertTrue(np.allclose(pixels.numpy().transpose(1, 2, 0), expected, atol=1e-5))

    def test_converts_to_rgb(self):
        grey = Image.new("L", (8, 8), 50)
        self.assertTrue(torch.allclose(preprocess(grey, size=8)[:, 4, 4], normalised((50, 50, 50)), atol=1e-6))


if __name__ == "__main__":
    unittest.main()
