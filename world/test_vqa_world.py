"""Tests of the synthetic VQA world: determinism, answers that agree with the drawn pixels, balance, and the
committed evaluation split. Run: /usr/bin/python3 -m unittest discover -s world"""

import contextlib
import io
import math
import random
import re
import sys
import tempfile
import unittest
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vqa_world as w  # noqa: E402

EVAL_DIR = Path(__file__).resolve().parent / "eval"


def pixels(image):
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def color_mask(px, name):
    return np.all(px == w.COLORS[name], axis=-1)


def components(mask):
    """4-connected components of a boolean mask, each as an array of (y, x) coordinates."""
    seen = np.zeros_like(mask)
    found = []
    for y, x in zip(*np.nonzero(mask)):
        if seen[y, x]:
            continue
        seen[y, x] = True
        stack, members = [(y, x)], []
        while stack:
            cy, cx = stack.pop()
            members.append((cy, cx))
            for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        found.append(np.array(members))
    return found


def small_object_components(px, meta):
    """Components of the pixels in neither the background nor the big shape's colour, the symbol masked out:
    exactly the small objects, if they are drawn where meta says."""
    mask = ~color_mask(px, meta["background"]) & ~color_mask(px, meta["big"]["color"])
    if meta["symbol"] is not None:
        x0, y0, x1, y1 = meta["symbol"]["box"]
        mask[y0:y1 + 1, x0:x1 + 1] = False
    return components(mask)


def bounds(members):
    return [int(members[:, 1].min()), int(members[:, 0].min()), int(members[:, 1].max()), int(members[:, 0].max())]


class DeterminismTest(unittest.TestCase):

    def test_same_seed_gives_identical_example(self):
        for seed in (0, 7, 123_456_789):
            first, second = w.make_example(seed), w.make_example(seed)
            self.assertEqual(first[0].tobytes(), second[0].tobytes())
            self.assertEqual(first[1:], second[1:])

    def test_random_instance_and_seed_agree(self):
        by_seed = w.make_example(42, "describe")
        by_rng = w.make_example(random.Random(42), "describe")
        self.assertEqual(by_seed[0].tobytes(), by_rng[0].tobytes())
        self.assertEqual(by_seed[1:3], by_rng[1:3])

    def test_different_seeds_give_different_images(self):
        images = {w.make_example(seed)[0].tobytes() for seed in range(50)}
        self.assertEqual(len(images), 50)

    def test_image_format(self):
        image = w.make_example(3)[0]
        self.assertEqual((image.mode, image.size), ("RGB", (224, 224)))


class AnswersMatchPixelsTest(unittest.TestCase):
    """Every answer is checked against the rendered pixels, not only against the scene description."""

    SEEDS = range(1000, 1140)

    def examples(self, qtype=None):
        return [w.make_example(seed, qtype) for seed in self.SEEDS]

    def test_small_objects_are_drawn_where_meta_says_and_count_matches(self):
        for image, _, answer, _, meta in self.examples("count_small"):
            found = small_object_components(pixels(image), meta)
            self.assertEqual(len(found), w.COUNT_WORDS.index(answer), meta["seed"])
            self.assertEqual(sorted(bounds(c) for c in found), sorted(o["box"] for o in meta["small"]), meta["seed"])

    def test_small_objects_have_the_promised_sizes_inside_their_cluster(self):
        for _, _, _, _, meta in self.examples():
            cx0, cy0, cx1, cy1 = meta["cluster"]
            self.assertEqual((cx1 - cx0 + 1, cy1 - cy0 + 1), (w.CLUSTER, w.CLUSTER))
            for obj in meta["small"]:
                x0, y0, x1, y1 = obj["box"]
                self.assertEqual(x1 - x0, y1 - y0)
                self.assertTrue(w.SMALL_SIZE[0] <= x1 - x0 + 1 <= w.SMALL_SIZE[1])
                self.assertTrue(cx0 <= x0 and cy0 <= y0 and x1 <= cx1 and y1 <= cy1, meta["seed"])

    def test_relative_position_follows_the_drawn_centres(self):
        for image, question, answer, _, meta in self.examples("relative_position"):
            px = pixels(image)
            a, b = (meta["small"][i] for i in meta["pair"])
            self.assertIn(f"the {a['color']} {a['kind']}", question)
            self.assertIn(f"the {b['color']} {b['kind']}", question)
            colors = [o["color"] for o in meta["small"]]
            self.assertEqual((colors.count(a["color"]), colors.count(b["color"])), (1, 1), "pair colours unique")
            centre_x = {}
            for c in small_object_components(px, meta):
                y, x = c[0]
                centre_x[tuple(int(v) for v in px[y, x])] = c[:, 1].mean()
            drawn_a, drawn_b = centre_x[w.COLORS[a["color"]]], centre_x[w.COLORS[b["color"]]]
            self.assertEqual(answer, "left" if drawn_a < drawn_b else "right", meta["seed"])
            self.assertTrue(w.PAIR_DX[0] - 1 <= abs(drawn_a - drawn_b) <= w.PAIR_DX[1] + 1)

    def test_symbol_pixels_spell_the_answer(self):
        for image, _, answer, _, meta in self.examples("read_symbol"):
            px = pixels(image)
            symbol = meta["symbol"]
            self.assertEqual(symbol["char"], answer)
            x0, y0 = symbol["box"][:2]
            half = w.SYMBOL_SCALE // 2
            drawn = ["".join("#" if tuple(px[y0 + r * w.SYMBOL_SCALE + half, x0 + c * w.SYMBOL_SCALE + half])
                             == w.COLORS[symbol["color"]] else " " for c in range(5)) for r in range(7)]
            self.assertEqual(drawn, w.GLYPHS[answer], meta["seed"])
            self.assertNotIn(symbol["color"], (meta["background"], meta["big"]["color"]))

    def test_background_fills_the_border_frame(self):
        for image, _, answer, _, meta in self.examples("background"):
            px = pixels(image)
            frame = np.ones((224, 224), bool)
            frame[w.BORDER:-w.BORDER, w.BORDER:-w.BORDER] = False
            self.assertTrue(color_mask(px, answer)[frame].all(), meta["seed"])

    def test_big_shape_colour_and_kind_match_the_drawn_shape(self):
        # Share of the bounding box the shape fills: square 1, circle pi/4, triangle 1/2. Pixel rounding and
        # masked-out small objects move it by a few hundredths; the kinds are >= 0.2 apart.
        expected_fill = {"square": 1.0, "circle": math.pi / 4, "triangle": 0.5}
        for image, _, _, _, meta in self.examples("big_shape_kind") + self.examples("big_shape_colour"):
            px = pixels(image)
            big = color_mask(px, meta["big"]["color"])
            x0, y0, x1, y1 = meta["big"]["box"]
            outside = big.copy()
            outside[y0:y1 + 1, x0:x1 + 1] = False
            self.assertFalse(outside.any(), f"seed {meta['seed']}: big-shape colour outside its box")
            occluded = np.zeros_like(big)
            for obj in meta["small"] + ([meta["symbol"]] if meta["symbol"] else []):
                ox0, oy0, ox1, oy1 = obj["box"]
                occluded[oy0:oy1 + 1, ox0:ox1 + 1] = True
            visible = ~occluded[y0:y1 + 1, x0:x1 + 1]
            fill = big[y0:y1 + 1, x0:x1 + 1][visible].mean()
            self.assertAlmostEqual(fill, expected_fill[meta["big"]["kind"]], delta=0.06, msg=meta["seed"])

    def test_describe_is_the_template_of_the_drawn_scene(self):
        pattern = re.compile(r"a (\w+) (\w+) on a (\w+) background with (no|one|\w+) small objects?")
        for image, _, answer, _, meta in self.examples("describe"):
            color, kind, background, count = pattern.fullmatch(answer).groups()
            self.assertEqual((color, kind, background), (meta["big"]["color"], meta["big"]["kind"], meta["background"]))
            self.assertEqual(len(small_object_components(pixels(image), meta)),
                             0 if count == "no" else w.COUNT_WORDS.index(count))

    def test_answers_come_from_the_closed_sets(self):
        for _, _, answer, qtype, _ in self.examples():
            if qtype != "describe":
                self.assertIn(answer, w.ANSWERS[qtype])


class BalanceTest(unittest.TestCase):

    def test_eval_split_answers_are_balanced_exactly(self):
        records = w.read_split(EVAL_DIR)
        self.assertEqual(Counter(r["qtype"] for r in records), {q: 100 for q in w.QTYPES})
        for qtype, answers in w.ANSWERS.items():
            counts = Counter(r["answer"] for r in records if r["qtype"] == qtype)
            self.assertEqual(set(counts), set(answers), qtype)
            self.assertLessEqual(max(counts.values()) - min(counts.values()), 1, qtype)
            _, _, share = w.majority_baseline(records)[qtype]
            self.assertEqual(share, math.ceil(100 / len(answers)) / 100, qtype)

    def test_on_the_fly_answers_are_balanced(self):
        # 700 draws per type: a class share's standard deviation is at most 0.019, so 0.06 is > 3 sigma.
        for qtype, answers in w.ANSWERS.items():
            counts = Counter(w.training_example(i, qtype)[2] for i in range(700))
            self.assertLess(max(counts.values()) / 700, 1 / len(answers) + 0.06, qtype)

    def test_on_the_fly_question_types_are_balanced(self):
        counts = Counter(w.training_example(i)[3] for i in range(700))
        self.assertEqual(set(counts), set(w.QTYPES))
        self.assertLess(max(counts.values()) / 700, 1 / 7 + 0.06)

    def test_every_question_type_is_paraphrased(self):
        for qtype in w.QTYPES:
            questions = (w.training_example(i, qtype)[1] for i in range(60))
            templates = {re.sub(r"the \w+ (dot|square)", "the X", q) for q in questions}
            self.assertEqual(len(templates), len(w.QUESTIONS[qtype]), qtype)


class SplitTest(unittest.TestCase):

    def test_eval_split_regenerates_byte_for_byte(self):
        with tempfile.TemporaryDirectory() as tmp:
            with contextlib.redirect_stdout(io.StringIO()):
                w.main(["write", tmp])
            committed = sorted(p.name for p in EVAL_DIR.iterdir() if p.suffix in (".png", ".jsonl"))
            self.assertEqual(sorted(p.name for p in Path(tmp).iterdir()), committed)
            for name in committed:
                self.assertEqual((Path(tmp) / name).read_bytes(), (EVAL_DIR / name).read_bytes(), name)

    def test_records_regenerate_their_images(self):
        for record in w.read_split(EVAL_DIR)[:21]:
            image, question, answer, _, _ = w.make_example(record["seed"], record["qtype"],
                                                           None if record["qtype"] == "describe" else record["answer"])
            stored = Image.open(EVAL_DIR / record["image"])
            self.assertEqual(stored.mode, "P")
            self.assertEqual(image.tobytes(), stored.convert("RGB").tobytes())
            self.assertEqual((question, answer), (record["question"], record["answer"]))

    def test_training_and_evaluation_seeds_are_disjoint(self):
        eval_seeds = {r["seed"] for r in w.read_split(EVAL_DIR)}
        self.assertLess(max(eval_seeds), w.TRAIN_SEED_START)
        self.assertEqual(w.training_example(0)[4]["seed"], w.TRAIN_SEED_START)
        with self.assertRaisesRegex(ValueError, "split 'train' must use seeds >= 1000000"):
            w.make_split("train", 10, 5)
        with self.assertRaisesRegex(ValueError, "split 'eval' must use seeds in"):
            w.make_split("eval", 10, w.TRAIN_SEED_START - 5)
        with self.assertRaisesRegex(ValueError, "index must be >= 0"):
            w.training_example(-1)

    def test_bad_requests_are_named(self):
        with self.assertRaisesRegex(ValueError, "unknown question type 'colour'"):
            w.make_example(0, "colour")
        with self.assertRaisesRegex(ValueError, "answer 'seven' is not in the answer set of count_small"):
            w.make_example(0, "count_small", "seven")
        with self.assertRaisesRegex(TypeError, "expected a random.Random or a seed"):
            w.make_example(-1)
        with self.assertRaisesRegex(FileNotFoundError, "no split.jsonl"):
            w.read_split(Path(__file__).parent / "missing")


if __name__ == "__main__":
    unittest.main()
