#!/usr/bin/env python3
"""Builds the Llama-2 tokenizer files from the vocabulary and merges that npm llama-tokenizer-js carries.

Usage: build_assets.py LLAMA_TOKENIZER_JS OUT_DIR

Writes OUT_DIR/tokenizer.json (Hugging Face), OUT_DIR/tokenizer.model (SentencePiece ModelProto, written by
hand: no protobuf library needed) and OUT_DIR/tokenizer_config.json, then checks with the sentencepiece
library that the model encodes the examples of DPN.md exactly.
"""
import base64
import json
import os
import re
import struct
import sys

import sentencepiece

VOCAB_SIZE = 32000
MERGE_COUNT = 61249
BYTE_PIECES = range(3, 259)  # <0x00>..<0xFF>
UNK, BOS, EOS = 0, 1, 2

# Ids 32000/32001 are llava-hf's; <ROUTER> takes the next free id (llava-hf pads the embeddings to 32064).
ADDED_TOKENS = [(UNK, "<unk>"), (BOS, "<s>"), (EOS, "</s>"),
                (32000, "<image>"), (32001, "<pad>"), (32002, "<ROUTER>")]

# (text, ids with <s>) as DPN.md §2 gives them; <image> is plain text for sentencepiece.
DPN_EXAMPLES = [
    ("Hello world!", [1, 15043, 3186, 29991]),
    ("USER: <image>\nWhat is shown in this image? ASSISTANT:",
     [1, 3148, 1001, 29901, 529, 3027, 29958, 13, 5618, 338, 4318, 297, 445, 1967, 29973, 319, 1799, 9047, 13566,
      29901]),
]


def read_tokenizer_js(path):
    """Returns (pieces by id, merges as id pairs in rank order) decoded from the JS file's two base64 literals."""
    with open(path, encoding="utf-8") as f:
        js = f.read()

    def literal(name):
        match = re.search(r'const %s = "([A-Za-z0-9+/=]*)"' % name, js)
        if match is None:
            sys.exit("%s: no string literal %s" % (path, name))
        return base64.b64decode(match.group(1))

    # Split on "\n" only: some pieces end in "\r", which str.splitlines() would also treat as a line break.
    pieces = literal("llama_vocab_base64").decode("utf-8").split("\n")
    merge_bytes = literal("llama_merges_binary")
    ids = struct.unpack("<%dH" % (len(merge_bytes) // 2), merge_bytes)
    merges = list(zip(ids[0::2], ids[1::2]))
    check_layout(path, pieces, merges)
    return pieces, merges


def check_layout(path, pieces, merges):
    def fail(reason):
        sys.exit("%s: %s" % (path, reason))

    if len(pieces) != VOCAB_SIZE:
        fail("expected %d pieces, found %d" % (VOCAB_SIZE, len(pieces)))
    if len(merges) != MERGE_COUNT:
        fail("expected %d merges, found %d" % (MERGE_COUNT, len(merges)))
    if len(set(pieces)) != VOCAB_SIZE:
        fail("pieces are not unique")
    if pieces[:3] != ["<unk>", "<s>", "</s>"]:
        fail("ids 0..2 are %r, expected <unk>, <s>, </s>" % pieces[:3])
    for byte, piece_id in enumerate(BYTE_PIECES):
        if pieces[piece_id] != "<0x%02X>" % byte:
            fail("id %d is %r, expected the byte piece <0x%02X>" % (piece_id, pieces[piece_id], byte))
    if any(" " in piece for piece in pieces):
        fail("a piece contains a space, which the 'a b' merge notation cannot express")
    known = set(pieces)
    for rank, (left, right) in enumerate(merges):
        if not (BYTE_PIECES.stop <= left < VOCAB_SIZE and BYTE_PIECES.stop <= right < VOCAB_SIZE):
            fail("merge %d joins ids %d and %d, not two normal pieces" % (rank, left, right))
        if pieces[left] + pieces[right] not in known:
            fail("merge %d makes %r, which is not a piece" % (rank, pieces[left] + pieces[right]))


def piece_scores(pieces, merges):
    """Score of each piece for sentencepiece's BPE, which merges the adjacent pair whose result scores highest.

    A merged piece scores minus the rank of its first merge, so sentencepiece follows the merge ranks; pieces
    that no merge makes (single characters) score below all of them; special and byte pieces score 0.
    """
    ids = {piece: i for i, piece in enumerate(pieces)}
    scores = [0.0] * len(pieces)
    made = set()
    for rank, (left, right) in enumerate(merges):
        result = ids[pieces[left] + pieces[right]]
        if result not in made:
            made.add(result)
            scores[result] = -float(rank)
    for i in range(BYTE_PIECES.stop, len(pieces)):
        if i not in made:
            scores[i] = -float(len(merges) + i)
    return scores


def tokenizer_json(pieces, merges):
    """The HF tokenizer.json of Llama-2 (the normalizer-based "legacy" layout), plus the added tokens."""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, content in ADDED_TOKENS],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [BOS], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": "<unk>",
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "vocab": {piece: i for i, piece in enumerate(pieces)},
            "merges": ["%s %s" % (pieces[left], pieces[right]) for left, right in merges]},
    }


def tokenizer_config():
    """As llava-hf's tokenizer_config.json, with <ROUTER> added; legacy: per-segment "▁" as tokenizer.json does."""
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": {str(i): {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
                                          "single_word": False, "special": True} for i, content in ADDED_TOKENS},
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "eos_token": "</s>",
        "legacy": True,
        "model_max_length": 4096,
        "pad_token": "<pad>",
        "padding_side": "left",
        "processor_class": "LlavaProcessor",
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    }


class Protobuf:
    """Just enough of the protobuf wire format to write sentencepiece_model.proto messages."""

    VARINT, FIXED32, LENGTH_DELIMITED = 0, 5, 2

    def __init__(self):
        self.out = bytearray()

    def _varint(self, value):
        value &= (1 << 64) - 1  # negative int32 values are sign-extended to ten bytes
        while value >= 0x80:
            self.out.append(value & 0x7F | 0x80)
            value >>= 7
        self.out.append(value)

    def _key(self, field, wire_type):
        self._varint(field << 3 | wire_type)

    def integer(self, field, value):  # int32, enum and bool fields
        self._key(field, self.VARINT)
        self._varint(int(value))

    def float32(self, field, value):
        self._key(field, self.FIXED32)
        self.out += struct.pack("<f", value)

    def blob(self, field, data):  # string, bytes and embedded-message fields
        self._key(field, self.LENGTH_DELIMITED)
        self._varint(len(data))
        self.out += data

    def string(self, field, text):
        self.blob(field, text.encode("utf-8"))


# sentencepiece_model.proto: SentencePiece.Type and TrainerSpec.ModelType values.
NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6
MODEL_TYPE_BPE = 2


def piece_type(piece_id):
    if piece_id == UNK:
        return UNKNOWN
    if piece_id in (BOS, EOS):
        return CONTROL
    return BYTE if piece_id in BYTE_PIECES else NORMAL


def sentencepiece_model(pieces, scores):
    """ModelProto { pieces = 1; trainer_spec = 2; normalizer_spec = 3 } with Llama-2's settings."""
    model = Protobuf()
    for i, (piece, score) in enumerate(zip(pieces, scores)):
        entry = Protobuf()
        entry.string(1, piece)
        entry.float32(2, score)
        entry.integer(3, piece_type(i))
        model.blob(1, entry.out)

    trainer = Protobuf()
    trainer.integer(3, MODEL_TYPE_BPE)
    trainer.integer(4, len(pieces))              # vocab_size
    trainer.integer(20, 16)                      # max_sentencepiece_length
    trainer.integer(25, True)                    # split_digits
    trainer.integer(26, True)                    # allow_whitespace_only_pieces
    trainer.integer(35, True)                    # byte_fallback
    trainer.integer(40, UNK)                     # unk_id
    trainer.integer(41, BOS)                     # bos_id
    trainer.integer(42, EOS)                     # eos_id
    trainer.integer(43, -1)                      # pad_id: none
    trainer.string(44, " \u2047 ")               # unk_surface: what decoding <unk> prints
    trainer.string(45, "<unk>")
    trainer.string(46, "<s>")
    trainer.string(47, "</s>")
    trainer.string(48, "<pad>")
    model.blob(2, trainer.out)

    normalizer = Protobuf()
    normalizer.string(1, "identity")             # no NFKC: the empty precompiled_charsmap maps nothing
    normalizer.integer(3, True)                  # add_dummy_prefix: "▁" before the text
    normalizer.integer(4, False)                 # remove_extra_whitespaces: keep runs of spaces
    normalizer.integer(5, True)                  # escape_whitespaces: " " becomes "▁"
    model.blob(3, normalizer.out)
    return bytes(model.out)


def check_with_sentencepiece(model_path, pieces, scores):
    processor = sentencepiece.SentencePieceProcessor(model_file=model_path)
    if processor.vocab_size() != len(pieces):
        sys.exit("%s: sentencepiece sees %d pieces, expected %d" % (model_path, processor.vocab_size(), len(pieces)))
    for i in range(len(pieces)):
        if (processor.id_to_piece(i), processor.get_score(i)) != (pieces[i], scores[i]):
            sys.exit("%s: piece %d reads back as %r" % (model_path, i, processor.id_to_piece(i)))
    for text, expected in DPN_EXAMPLES:
        ids = processor.encode(text, add_bos=True)
        if ids != expected:
            sys.exit("%s: %r encodes to %s, DPN.md says %s" % (model_path, text, ids, expected))
        if processor.decode(ids) != text:
            sys.exit("%s: %s decodes to %r, not %r" % (model_path, ids, processor.decode(ids), text))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    js_path, out_dir = sys.argv[1:]
    pieces, merges = read_tokenizer_js(js_path)
    scores = piece_scores(pieces, merges)
    os.makedirs(out_dir, exist_ok=True)
    write(os.path.join(out_dir, "tokenizer.json"),
          json.dumps(tokenizer_json(pieces, merges), ensure_ascii=False, indent=2).encode("utf-8") + b"\n")
    write(os.path.join(out_dir, "tokenizer_config.json"),
          json.dumps(tokenizer_config(), ensure_ascii=False, indent=2).encode("utf-8") + b"\n")
    model_path = os.path.join(out_dir, "tokenizer.model")
    write(model_path, sentencepiece_model(pieces, scores))
    check_with_sentencepiece(model_path, pieces, scores)
    print("%s: %d pieces, %d merges; sentencepiece encodes the DPN.md examples exactly" %
          (out_dir, len(pieces), len(merges)))


if __name__ == "__main__":
    main()
