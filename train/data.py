"""Training sequences from the synthetic VQA world (world/vqa_world.py), as token ids, labels and pixels.

Example k of a run is drawn from the world's training seed TRAIN_SEED_START + k, so a run is reproducible
and never sees an evaluation image. Two kinds of sequence:

- single turn, `USER: <image>\\n{question} ASSISTANT: {answer}</s>` (with `<ROUTER>` after the question for
  DPN): exactly the prompt the evaluation asks;
- a conversation of several questions about the same image, as LLaVA's instruction data. The image costs
  most of a step (256 of ~300 tokens), so asking everything the scene answers multiplies what each step
  teaches for little extra compute. The questions of one conversation never give each other's answers away:
  a `describe` answer names the big shape, background and count, so it never shares a conversation with
  those questions.

Only answer tokens and the `</s>` after them are supervised.
"""

import random
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "reference"))
sys.path.insert(0, str(REPO / "world"))

import vqa_world as world  # noqa: E402
from dpn_ref.preprocess import preprocess  # noqa: E402
from dpn_ref.prompt import ROUTER_TOKEN, as_tokenizer, build_prompt, encode_prompt  # noqa: E402
from dpn_ref.sequence import IGNORE_LABEL  # noqa: E402

TOKENIZER_ASSETS = REPO / "tokenizer" / "assets"
IMAGE_TOKEN_ID, PAD_TOKEN_ID, ROUTER_TOKEN_ID = 32000, 32001, 32002
EOS_TOKEN_ID = 2
TEMPLATE = "llava_hf"  # USER: <image>\n{question} ASSISTANT:

# What a scene answers besides the question it was generated for, read from make_example's meta. Only
# scenes made for a relative-position question name a pair, and describe is never a follow-up (see above).
FOLLOW_UP_ANSWERS = {
    "big_shape_colour": lambda meta: meta["big"]["color"],
    "big_shape_kind": lambda meta: meta["big"]["kind"],
    "background": lambda meta: meta["background"],
    "count_small": lambda meta: world.COUNT_WORDS[len(meta["small"])],
    "read_symbol": lambda meta: None if meta["symbol"] is None else meta["symbol"]["char"],
}
GIVEN_AWAY_BY_DESCRIBE = ("big_shape_colour", "big_shape_kind", "background", "count_small")
# The classes of each scene attribute for pretraining the vision tower; read_symbol adds "no symbol".
ATTRIBUTE_CLASSES = {
    "big_shape_colour": world.COLOR_NAMES,
    "big_shape_kind": world.BIG_KINDS,
    "background": world.COLOR_NAMES,
    "count_small": world.COUNT_WORDS,
    "read_symbol": world.SYMBOLS + [None],
}


def load_tokenizer():
    return as_tokenizer(TOKENIZER_ASSETS / "tokenizer.model",
                        {"<image>": IMAGE_TOKEN_ID, "<pad>": PAD_TOKEN_ID, ROUTER_TOKEN: ROUTER_TOKEN_ID})


def pixels(image):
    """A 224×224 world image as the CLIP-normalised tensor the vision tower takes (no resize needed)."""
    return preprocess(image, size=world.IMAGE_SIZE)


@dataclass
class Sequence:
    ids: list
    labels: list
    pixels: torch.Tensor
    qtype: str


class SequenceMaker:
    """Builds example k of a run as a single-turn or conversation sequence."""

    def __init__(self, tokenizer, router):
        self.tokenizer = tokenizer
        self.router = router

    def single_turn(self, k):
        image, question, answer, qtype, _ = world.training_example(k)
        return self._sequence(image, [(question, answer)], qtype)

    def conversation(self, k):
        """All questions the scene of example k answers, in an order drawn from k."""
        image, question, answer, qtype, meta = world.training_example(k)
        follow_ups = [q for q in FOLLOW_UP_ANSWERS if q != qtype
                      and not (qtype == "describe" and q in GIVEN_AWAY_BY_DESCRIBE)]
        rng = random.Random(k)
        turns = [(question, answer)]
        for follow_up in follow_ups:
            follow_up_answer = FOLLOW_UP_ANSWERS[follow_up](meta)
            if follow_up_answer is not None:
                turns.append((rng.choice(world.QUESTIONS[follow_up]), follow_up_answer))
        rng.shuffle(turns)
        return self._sequence(image, turns, qtype)

    def _sequence(self, image, turns, qtype):
        """`USER: <image>\\nQ1 ASSISTANT: A1</s>USER: Q2 ASSISTANT: A2</s>…` as LLaVA's v1 conversations."""
        (question, answer), *rest = turns
        ids = encode_prompt(self.tokenizer, build_prompt(question, TEMPLATE, self.router), IMAGE_TOKEN_ID)
        labels = [IGNORE_LABEL] * len(ids)
        self._append_answer(ids, labels, answer)
        for question, answer in rest:
            prompt_ids = self._encode(f"USER: {question} ASSISTANT:")
            ids += prompt_ids
            labels += [IGNORE_LABEL] * len(prompt_ids)
            self._append_answer(ids, labels, answer)
        return Sequence(ids, labels, pixels(image), qtype)

    def _append_answer(self, ids, labels, answer):
        answer_ids = self._encode(answer) + [EOS_TOKEN_ID]
        ids += answer_ids
        labels += answer_ids

    def _encode(self, text):
        """Ids of a text piece after the start of the sequence: without the BOS the tokenizer puts first."""
        return self.tokenizer.encode(text)[1:]


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    pixel_values: torch.Tensor
    qtypes: list


def collate(sequences):
    """Right-padded with <pad> (ids) and IGNORE_LABEL (labels), as the reference model expects."""
    width = max(len(s.ids) for s in sequences)
    input_ids = torch.full((len(sequences), width), PAD_TOKEN_ID)
    labels = torch.full((len(sequences), width), IGNORE_LABEL)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        n = len(sequence.ids)
        input_ids[row, :n] = torch.tensor(sequence.ids)
        labels[row, :n] = torch.tensor(sequence.labels)
        attention_mask[row, :n] = 1
    return Batch(input_ids, attention_mask, labels, torch.stack([s.pixels for s in sequences]),
                 [s.qtype for s in sequences])


@dataclass
class AttributeBatch:
    pixel_values: torch.Tensor
    labels: dict  # attribute -> class indices (images,)


def attribute_batch(first, size):
    """Training examples first..first+size-1 as images and the class of each scene attribute."""
    examples = [world.training_example(k) for k in range(first, first + size)]
    labels = {attribute: torch.tensor([classes.index(FOLLOW_UP_ANSWERS[attribute](meta))
                                       for *_, meta in examples])
              for attribute, classes in ATTRIBUTE_CLASSES.items()}
    return AttributeBatch(torch.stack([pixels(image) for image, *_ in examples]), labels)
