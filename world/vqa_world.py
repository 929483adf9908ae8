"""A synthetic visual-question world for training tiny LLaVA-style models from scratch.

Each 224x224 image holds a background colour, one big shape, 0-5 small objects (dots and squares) and
optionally one small symbol (letter or digit) drawn with a built-in 5x7 bitmap font. Questions ask about
coarse content (big shape, background), which survives heavy pooling of the visual tokens, or fine content
(counting small objects, reading the symbol, the relative position of two nearby small objects), which
lives at the scale of one or two 14-px patches.

Everything is drawn without anti-aliasing from a seeded `random.Random`, so one seed gives the same pixels,
question and answer on every machine. Seeds below TRAIN_SEED_START are reserved for the evaluation split.

    python3 world/vqa_world.py write world/eval        # regenerate the committed evaluation split
    python3 world/vqa_world.py stats world/eval        # per question type: count, majority baseline
"""

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from PIL import Image, ImageDraw

IMAGE_SIZE = 224

COLORS = {
    "red": (215, 40, 40),
    "green": (40, 165, 60),
    "blue": (40, 90, 225),
    "yellow": (245, 210, 30),
    "purple": (145, 65, 190),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
}
COLOR_NAMES = list(COLORS)
BIG_KINDS = ["circle", "square", "triangle"]
SMALL_KINDS = ["dot", "square"]
COUNT_WORDS = ["zero", "one", "two", "three", "four", "five"]
MAX_SMALL = len(COUNT_WORDS) - 1

# 5x7 glyphs, scaled by SYMBOL_SCALE to 15x21 px: about 1x1.5 patches of 14 px, so two pooled-away
# neighbours already merge most of a glyph's strokes.
GLYPHS = {
    "A": [" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"],
    "C": [" ####", "#    ", "#    ", "#    ", "#    ", "#    ", " ####"],
    "E": ["#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"],
    "K": ["#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"],
    "T": ["#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "],
    "X": ["#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"],
    "2": [" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"],
    "4": ["   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "],
}
SYMBOLS = list(GLYPHS)
SYMBOL_SCALE = 3
SYMBOL_WIDTH = 5 * SYMBOL_SCALE
SYMBOL_HEIGHT = 7 * SYMBOL_SCALE

BIG_SIZE = (100, 145)       # side of the big shape's bounding box: 45-65 % of the image width
SMALL_SIZE = (12, 20)       # side of a small object's bounding box
BORDER = 4                  # nothing is drawn closer than this to the image edge
CANVAS = [BORDER, BORDER, IMAGE_SIZE - 1 - BORDER, IMAGE_SIZE - 1 - BORDER]  # inclusive [x0, y0, x1, y1]
CLUSTER = 112               # side of the square area, placed at random, that holds all small objects
GAP = 4                     # minimum free pixels between small objects and the symbol, so each stays countable
PAIR_DX = (20, 48)          # horizontal centre distance of the two objects in a relative-position question
PAIR_DY = 32                # their largest vertical centre distance

QUESTIONS = {
    "big_shape_colour": [
        "What color is the big shape?",
        "What is the color of the large shape?",
        "Which color does the big object have?",
        "Tell me the color of the large object.",
    ],
    "big_shape_kind": [
        "What shape is the big object?",
        "What kind of shape is the large object?",
        "Is the big shape a circle, a square or a triangle?",
        "Name the shape of the large object.",
    ],
    "background": [
        "What color is the background?",
        "What is the background color?",
        "Which color is the background of the image?",
        "Tell me the color of the background.",
    ],
    "count_small": [
        "How many small objects are there?",
        "How many small shapes are in the image?",
        "Count the small objects in the picture.",
        "How many little dots and squares can you see?",
    ],
    "read_symbol": [
        "What letter or digit is written in the image?",
        "Which character is drawn in the picture?",
        "Read the small symbol in the image.",
        "What symbol is written in the image?",
    ],
    "relative_position": [
        "Is the {a} left or right of the {b}?",
        "Is the {a} to the left or to the right of the {b}?",
        "Relative to the {b}, is the {a} on the left or on the right?",
        "Where is the {a} compared to the {b}: left or right?",
    ],
    "describe": [
        "Describe the image briefly.",
        "Give a short description of the image.",
        "What does the image show?",
        "Briefly describe the picture.",
    ],
}
QTYPES = list(QUESTIONS)
GROUPS = {
    "big_shape_colour": "coarse",
    "big_shape_kind": "coarse",
    "background": "coarse",
    "count_small": "fine",
    "read_symbol": "fine",
    "relative_position": "fine",
    "describe": "mixed",
}
# The closed answer set of each single-word question type; describe answers are templated sentences.
ANSWERS = {
    "big_shape_colour": COLOR_NAMES,
    "big_shape_kind": BIG_KINDS,
    "background": COLOR_NAMES,
    "count_small": COUNT_WORDS,
    "read_symbol": SYMBOLS,
    "relative_position": ["left", "right"],
}

EVAL_SEED = 0
EVAL_SIZE = 100 * len(QTYPES)
TRAIN_SEED_START = 1_000_000  # seeds [0, TRAIN_SEED_START) belong to evaluation, the rest to training


def make_example(rng_or_seed, qtype=None, answer=None):
    """One example: (RGB image, question, answer, qtype, meta).

    qtype=None draws a question type uniformly; answer=None draws the answer uniformly from the type's
    answer set (only describe has none), so answers are balanced within each type. meta describes every
    drawn object, with boxes as inclusive pixel bounds [x0, y0, x1, y1].
    """
    rng, seed = _rng(rng_or_seed)
    if qtype is None:
        qtype = rng.choice(QTYPES)
    if qtype not in QUESTIONS:
        raise ValueError(f"unknown question type {qtype!r}; known: {', '.join(QTYPES)}")
    if answer is not None and answer not in ANSWERS.get(qtype, ()):
        raise ValueError(f"answer {answer!r} is not in the answer set of {qtype}: {ANSWERS.get(qtype, 'none')}")
    if answer is None and qtype in ANSWERS:
        answer = rng.choice(ANSWERS[qtype])

    scene = _make_scene(rng, qtype, answer)
    question = rng.choice(QUESTIONS[qtype])
    if qtype == "relative_position":
        a, b = (scene["small"][i] for i in scene["pair"])
        question = question.format(a=_object_name(a), b=_object_name(b))
    answer = _answer(scene, qtype)
    meta = {"seed": seed, "group": GROUPS[qtype], **scene}
    return _render(scene).convert("RGB"), question, answer, qtype, meta


def training_example(index, qtype=None):
    """The index-th on-the-fly training example; its seed never falls in the evaluation range."""
    if index < 0:
        raise ValueError(f"training example index must be >= 0, got {index}")
    return make_example(TRAIN_SEED_START + index, qtype)


def make_split(name, n, seed):
    """n examples with seeds seed..seed+n-1, cycling through the question types and, within each type,
    through its answer set, so every type has n/7 examples and its answers are balanced exactly.

    The split named "eval" must lie in the evaluation seed range and every other split outside it, so
    training data can never repeat an evaluation image.
    """
    if n < 0:
        raise ValueError(f"split size must be >= 0, got {n}")
    first, last = seed, seed + n - 1
    if name == "eval" and (first < 0 or last >= TRAIN_SEED_START):
        raise ValueError(f"split 'eval' must use seeds in [0, {TRAIN_SEED_START}), got [{first}, {last}]")
    if name != "eval" and first < TRAIN_SEED_START:
        raise ValueError(f"split {name!r} must use seeds >= {TRAIN_SEED_START} (below is evaluation), got {first}")
    examples = []
    for i in range(n):
        qtype = QTYPES[i % len(QTYPES)]
        answers = ANSWERS.get(qtype)
        answer = answers[(i // len(QTYPES)) % len(answers)] if answers else None
        examples.append(make_example(seed + i, qtype, answer))
    return examples


def write_split(examples, out_dir):
    """Write images as palette PNGs (the 7 colours index exactly, so nothing is lost) and split.jsonl."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (image, question, answer, qtype, meta) in enumerate(examples):
        file = f"{i:04d}.png"
        _to_palette(image).save(out / file, optimize=True)
        record = {"image": file, "question": question, "answer": answer, "qtype": qtype,
                  "group": meta["group"], "seed": meta["seed"]}
        lines.append(json.dumps(record) + "\n")
    (out / "split.jsonl").write_text("".join(lines), encoding="utf-8")


def read_split(split_dir):
    """The records of a split.jsonl, each with the fields write_split stores."""
    path = Path(split_dir) / "split.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no split.jsonl in this folder")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def majority_baseline(records):
    """Per question type: (examples, most frequent answer, its share = accuracy of always answering it)."""
    by_type = {}
    for r in records:
        by_type.setdefault(r["qtype"], Counter())[r["answer"]] += 1
    table = {}
    for qtype in QTYPES:
        if qtype in by_type:
            counts = by_type[qtype]
            answer, hits = counts.most_common(1)[0]
            table[qtype] = (sum(counts.values()), answer, hits / sum(counts.values()))
    return table


def _rng(rng_or_seed):
    if isinstance(rng_or_seed, random.Random):
        return rng_or_seed, None
    if isinstance(rng_or_seed, int) and not isinstance(rng_or_seed, bool) and rng_or_seed >= 0:
        return random.Random(rng_or_seed), rng_or_seed
    raise TypeError(f"expected a random.Random or a seed >= 0, got {rng_or_seed!r}")


def _make_scene(rng, qtype, answer):
    """Draw the scene's content, forced where the question type needs it to produce `answer`."""
    if qtype == "big_shape_colour":
        big_color = answer
        background = rng.choice([c for c in COLOR_NAMES if c != big_color])
    else:
        background = answer if qtype == "background" else rng.choice(COLOR_NAMES)
        big_color = rng.choice([c for c in COLOR_NAMES if c != background])
    big_kind = answer if qtype == "big_shape_kind" else rng.choice(BIG_KINDS)
    side = rng.randint(*BIG_SIZE)
    x0, y0 = _random_corner(rng, side, side, CANVAS)
    big = {"color": big_color, "kind": big_kind, "box": [x0, y0, x0 + side - 1, y0 + side - 1]}

    # Small objects and the symbol must stand out against both the background and the big shape.
    small_colors = [c for c in COLOR_NAMES if c not in (background, big_color)]
    if qtype == "count_small":
        count = COUNT_WORDS.index(answer)
    elif qtype == "relative_position":
        count = rng.randint(2, MAX_SMALL)
    else:
        count = rng.randint(0, MAX_SMALL)

    # Crowding the small objects into one area puts several of them into one cell of a pooled grid.
    cx0, cy0 = _random_corner(rng, CLUSTER, CLUSTER, CANVAS)
    cluster = [cx0, cy0, cx0 + CLUSTER - 1, cy0 + CLUSTER - 1]
    small = []
    if qtype == "relative_position":
        # The pair's colours are unique among the small objects, so the question names each unambiguously.
        a_color, b_color = rng.sample(small_colors, 2)
        small += _place_pair(rng, a_color, b_color, left=(answer == "left"), area=cluster)
        small_colors = [c for c in small_colors if c not in (a_color, b_color)]
    while len(small) < count:
        size = rng.randint(*SMALL_SIZE)
        box = _free_box(rng, size, size, small, cluster)
        small.append(_small_object(rng.choice(SMALL_KINDS), rng.choice(small_colors), box))

    symbol = None
    if qtype == "read_symbol" or rng.random() < 0.5:
        char = answer if qtype == "read_symbol" else rng.choice(SYMBOLS)
        box = _free_box(rng, SYMBOL_WIDTH, SYMBOL_HEIGHT, small, CANVAS)
        symbol = {"char": char, "color": _symbol_color(background, big_color), "box": box}

    # pair: indices into small of the objects a relative-position question names ("Is the a ... of the b?")
    pair = [0, 1] if qtype == "relative_position" else None
    return {"background": background, "big": big, "cluster": cluster, "small": small, "symbol": symbol, "pair": pair}


def _place_pair(rng, a_color, b_color, left, area):
    """Two small objects whose centres are 20-48 px apart horizontally: often inside one 56-px cell of a
    4x4-pooled grid, always in different 14-px patches."""
    for _ in range(1000):
        sa, sb = rng.randint(*SMALL_SIZE), rng.randint(*SMALL_SIZE)
        ax, ay = _random_corner(rng, sa, sa, area)
        dx = rng.randint(*PAIR_DX) * (1 if left else -1)
        dy = rng.randint(-PAIR_DY, PAIR_DY)
        # Centre of a box [x0, x0 + s - 1] is x0 + (s - 1) / 2; place b's centre at a's centre + (dx, dy).
        bx = round(ax + (sa - 1) / 2 + dx - (sb - 1) / 2)
        by = round(ay + (sa - 1) / 2 + dy - (sb - 1) / 2)
        a_box = [ax, ay, ax + sa - 1, ay + sa - 1]
        b_box = [bx, by, bx + sb - 1, by + sb - 1]
        if _inside(b_box, area) and not _too_close(a_box, b_box):
            return (_small_object(rng.choice(SMALL_KINDS), a_color, a_box),
                    _small_object(rng.choice(SMALL_KINDS), b_color, b_box))
    raise RuntimeError("could not place the relative-position pair")


def _free_box(rng, width, height, objects, area):
    """A box inside area at least GAP pixels away from every placed small object."""
    for _ in range(1000):
        x0, y0 = _random_corner(rng, width, height, area)
        box = [x0, y0, x0 + width - 1, y0 + height - 1]
        if not any(_too_close(box, o["box"]) for o in objects):
            return box
    raise RuntimeError("no free place left for a small object")


def _small_object(kind, color, box):
    return {"kind": kind, "color": color, "box": box, "centre": _centre(box)}


def _centre(box):
    return [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]


def _random_corner(rng, width, height, area):
    """Top-left corner of a width x height box drawn uniformly among those inside area."""
    return rng.randint(area[0], area[2] + 1 - width), rng.randint(area[1], area[3] + 1 - height)


def _inside(box, area):
    return box[0] >= area[0] and box[1] >= area[1] and box[2] <= area[2] and box[3] <= area[3]


def _too_close(p, q):
    return not (p[2] + GAP < q[0] or q[2] + GAP < p[0] or p[3] + GAP < q[1] or q[3] + GAP < p[1])


def _symbol_color(background, big_color):
    """The palette colour farthest from both the background and the big shape, so the glyph stays legible
    wherever it lands."""
    def distance(c, d):
        return sum((x - y) ** 2 for x, y in zip(COLORS[c], COLORS[d]))
    candidates = [c for c in COLOR_NAMES if c not in (background, big_color)]
    return max(candidates, key=lambda c: min(distance(c, background), distance(c, big_color)))


def _object_name(obj):
    return f"{obj['color']} {obj['kind']}"


def _answer(scene, qtype):
    big, count = scene["big"], len(scene["small"])
    if qtype == "big_shape_colour":
        return big["color"]
    if qtype == "big_shape_kind":
        return big["kind"]
    if qtype == "background":
        return scene["background"]
    if qtype == "count_small":
        return COUNT_WORDS[count]
    if qtype == "read_symbol":
        return scene["symbol"]["char"]
    if qtype == "relative_position":
        a, b = (scene["small"][i] for i in scene["pair"])
        return "left" if a["centre"][0] < b["centre"][0] else "right"
    objects = {0: "no small objects", 1: "one small object"}.get(count, f"{COUNT_WORDS[count]} small objects")
    return f"a {big['color']} {big['kind']} on a {scene['background']} background with {objects}"


def _render(scene):
    """Draw in palette mode: every pixel is exactly one of the 7 colours."""
    index = {name: i for i, name in enumerate(COLOR_NAMES)}
    image = Image.new("P", (IMAGE_SIZE, IMAGE_SIZE), index[scene["background"]])
    image.putpalette([v for name in COLOR_NAMES for v in COLORS[name]])
    draw = ImageDraw.Draw(image)

    big = scene["big"]
    x0, y0, x1, y1 = big["box"]
    fill = index[big["color"]]
    if big["kind"] == "circle":
        draw.ellipse((x0, y0, x1, y1), fill=fill)
    elif big["kind"] == "square":
        draw.rectangle((x0, y0, x1, y1), fill=fill)
    else:
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=fill)

    for obj in scene["small"]:
        shape = draw.ellipse if obj["kind"] == "dot" else draw.rectangle
        shape(tuple(obj["box"]), fill=index[obj["color"]])

    symbol = scene["symbol"]
    if symbol is not None:
        sx, sy = symbol["box"][:2]
        for row, line in enumerate(GLYPHS[symbol["char"]]):
            for col, cell in enumerate(line):
                if cell == "#":
                    px, py = sx + col * SYMBOL_SCALE, sy + row * SYMBOL_SCALE
                    draw.rectangle((px, py, px + SYMBOL_SCALE - 1, py + SYMBOL_SCALE - 1),
                                   fill=index[symbol["color"]])
    return image


_PALETTE_IMAGE = Image.new("P", (1, 1))
_PALETTE_IMAGE.putpalette([v for name in COLOR_NAMES for v in COLORS[name]])


def _to_palette(rgb):
    return rgb.quantize(palette=_PALETTE_IMAGE, dither=Image.Dither.NONE)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write a split: NNNN.png + split.jsonl")
    write.add_argument("out_dir")
    write.add_argument("--name", default="eval", help="split name; 'eval' must use seeds below TRAIN_SEED_START")
    write.add_argument("--n", type=int, default=EVAL_SIZE, help="number of examples (default: %(default)s)")
    write.add_argument("--seed", type=int, default=EVAL_SEED, help="first example seed (default: %(default)s)")
    stats = commands.add_parser("stats", help="per question type: examples and majority-class baseline")
    stats.add_argument("split_dir")
    args = parser.parse_args(argv)

    try:
        if args.command == "write":
            write_split(make_split(args.name, args.n, args.seed), args.out_dir)
            print(f"wrote {args.n} examples to {args.out_dir}")
        else:
            print(f"{'qtype':<18} {'group':<7} {'n':>5}  majority answer  baseline")
            for qtype, (n, answer, share) in majority_baseline(read_split(args.split_dir)).items():
                print(f"{qtype:<18} {GROUPS[qtype]:<7} {n:>5}  {answer[:15]:<15}  {share:7.1%}")
    except (ValueError, FileNotFoundError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
