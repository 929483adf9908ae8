"""Prompts: the llava_v1 and llava-hf templates, `<ROUTER>` for DPN, and the image placeholder splice.

A tokenizer is any object with `encode(text) -> ids` (starting with BOS), `decode(ids) -> str` and
`token_to_id(token) -> id or None`; `SentencePieceTokenizer` wraps a `tokenizer.model` file.
"""

import re
from pathlib import Path

from .sequence import IGNORE_LABEL

IMAGE_TOKEN = "<image>"
ROUTER_TOKEN = "<ROUTER>"
LLAVA_V1_SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
                   "The assistant gives helpful, detailed, and polite answers to the human's questions.")
TEMPLATES = ("llava_v1", "llava_hf")


def build_prompt(question, template="llava_v1", router=False):
    """`USER: <image>\\n{question} ASSISTANT:`, with the llava_v1 system text in front, and for DPN models
    the router token right after the question."""
    if template not in TEMPLATES:
        raise ValueError(f"template must be one of {TEMPLATES}, got {template!r}")
    turn = f"USER: {IMAGE_TOKEN}\n{question}{ROUTER_TOKEN if router else ''} ASSISTANT:"
    return f"{LLAVA_V1_SYSTEM} {turn}" if template == "llava_v1" else turn


def encode_prompt(tokenizer, prompt, image_token_index):
    """Token ids of `prompt`, with `<image>` as the single id `image_token_index`.

    As LLaVA's tokenizer_image_token: the text on each side of `<image>` is tokenized on its own, and
    the piece after it loses the BOS the tokenizer put in front.
    """
    pieces = prompt.split(IMAGE_TOKEN)
    if len(pieces) > 2:
        raise ValueError(f"the prompt has {len(pieces) - 1} {IMAGE_TOKEN} markers; one image per prompt")
    ids = list(tokenizer.encode(pieces[0]))
    bos = ids[:1]
    for piece in pieces[1:]:
        piece_ids = list(tokenizer.encode(piece))
        if piece_ids[:1] == bos:
            piece_ids = piece_ids[1:]
        ids += [image_token_index] + piece_ids
    return ids


def training_example(tokenizer, question, answer, image_token_index, eos_token_id=2, template="llava_v1",
                     router=False):
    """(ids, labels) for one supervised turn: the answer and end-of-sequence are the only labelled tokens."""
    prompt_ids = encode_prompt(tokenizer, build_prompt(question, template, router), image_token_index)
    answer_ids = list(tokenizer.encode(answer))[1:] + [eos_token_id]
    return prompt_ids + answer_ids, [IGNORE_LABEL] * len(prompt_ids) + answer_ids


class SentencePieceTokenizer:
    """A SentencePiece model plus added tokens (`<image>`, `<pad>`, `<ROUTER>`), which are matched as whole
    strings before BPE. Each text segment between added tokens is encoded on its own."""

    def __init__(self, model_file, added_tokens):
        import sentencepiece  # only this adapter needs it

        self.processor = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        self.added_tokens = dict(added_tokens)
        self._added_text = {token_id: text for text, token_id in self.added_tokens.items()}
        longest_first = sorted(self.added_tokens, key=len, reverse=True)
        self._splitter = re.compile("(" + "|".join(map(re.escape, longest_first)) + ")") if longest_first else None

    def encode(self, text):
        ids = [self.processor.bos_id()]
        for segment in self._splitter.split(text) if self._splitter else [text]:
            if segment in self.added_tokens:
                ids.append(self.added_tokens[segment])
            elif segment:
                ids += self.processor.encode(segment)
        return ids

    def decode(self, ids):
        parts, run = [], []
        for token_id in ids:
            if token_id in self._added_text:
                parts += [self.processor.decode(run), self._added_text[token_id]]
                run = []
            else:
                run.append(token_id)
        parts.append(self.processor.decode(run))
        return "".join(parts)

    def token_to_id(self, token):
        if token in self.added_tokens:
            return self.added_tokens[token]
        token_id = self.processor.piece_to_id(token)
        # SentencePiece answers the unknown-piece id for pieces it does not have.
        return token_id if self.processor.id_to_piece(token_id) == token else None


def as_tokenizer(tokenizer, added_tokens=None):
    """A tokenizer object as is, or a SentencePieceTokenizer for a `tokenizer.model` path."""
    if isinstance(tokenizer, (str, Path)):
        return SentencePieceTokenizer(tokenizer, added_tokens or {})
    for method in ("encode", "decode", "token_to_id"):
        if not callable(getattr(tokenizer, method, None)):
            raise TypeError(f"a tokenizer needs encode, decode and token_to_id; {type(tokenizer).__name__} "
                            f"lacks {method}")
    return tokenizer
