#!/usr/bin/env python3
"""Writes the golden token ids of a seeded corpus, from sentencepiece over tokenizer.model.

Usage: make_corpus.py ASSETS_DIR GOLDEN_DIR

GOLDEN_DIR/encode.jsonl.gz: one JSON object a line, {"category", "text", "ids"} and, when the text contains an
added token's string, "added_ids"; see README.md. Every record is cross-checked: the pure-Python
ReferenceTokenizer over tokenizer.json must give the same ids, and sentencepiece must decode ids back to the
text ("decoded" is recorded where it differs: a "▁" in the text comes back as a space).
GOLDEN_DIR/decode.jsonl: {"ids", "sentencepiece", "tokenizer_json"}: the text both decoders make of hand-picked
and random id sequences.
"""
import gzip
import json
import os
import random
import string
import sys

import sentencepiece

from reference_tokenizer import ReferenceTokenizer

SEED = 20250607

WORDS = """the of and to in is was for that on with as by at from his her it an were are which this be or has had
not first one their its new after who they have two been also other all into more time can world only over most
city would year when some may these people school used university state between during such many later where
while under both three then made known than work well part since through like because each before until music
image picture photo shows man woman dog cat car street sky tree water house red blue green white black small large
left right top bottom front behind near next holding sitting standing wearing looking playing table window
question answer describe detail color number how what why who whom whose which count there here""".split()

QUESTIONS = ["What is shown in this image?", "Describe the image in detail.", "How many people are there?",
             "What color is the car?", "Is there a dog in the picture?", "What is the man holding?",
             "Where was this photo taken?", "What is written on the sign?", "Answer with a single word.",
             "What is unusual about this image?"]
SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, "
          "detailed, and polite answers to the human's questions.")

# Literal strings that are added tokens in tokenizer.json, plus look-alikes that must stay plain text.
SPECIAL_LITERALS = ["<s>", "</s>", "<unk>", "<pad>", "<image>", "<ROUTER>"]
LOOKALIKES = ["<0x0A>", "<0x00>", "<image", "image>", "<ROUTER", "<router>", "<IMAGE>", "< image >", "<<image>>",
              "</s", "<s >", "<imag<image>e>", "<ROUTER><ROUTER>"]

WHITESPACE = [" ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", "\r", "\r\n", " \n", "\t\t", " " * 8, "\u3000",
              "\u00a0", "\u2009", "\u200b", "\x0b", "\x0c"]

# (first, last) code point ranges.
CJK = [(0x4E00, 0x9FFF), (0x3040, 0x309F), (0x30A0, 0x30FF), (0xAC00, 0xD7A3), (0x3000, 0x303F), (0xFF01, 0xFF5E)]
SCRIPTS = [(0x0400, 0x04FF), (0x0370, 0x03FF), (0x0600, 0x06FF), (0x05D0, 0x05EA), (0x0900, 0x097F),
           (0x0E00, 0x0E7F), (0x0530, 0x058F), (0x10A0, 0x10FF), (0x00C0, 0x024F), (0x1E00, 0x1EFF)]
# Mostly absent from the vocabulary, so encoded as UTF-8 byte pieces.
RARE = [(0x12000, 0x1236E), (0x10000, 0x1005D), (0x10330, 0x1034A), (0x10300, 0x1031E), (0x2D30, 0x2D67),
        (0x1200, 0x137C), (0x13A0, 0x13F4), (0x1680, 0x169C), (0x16A0, 0x16F0), (0xE000, 0xF8FF),
        (0xF0000, 0xF00FF), (0x100000, 0x1000FF), (0x1D400, 0x1D7FF), (0x0000, 0x001F), (0x007F, 0x009F),
        (0x1F000, 0x1F02B), (0xFFF9, 0xFFFD), (0x0F00, 0x0FDA), (0x1780, 0x17F9)]
COMBINING = (0x0300, 0x036F)

EMOJI = ["😀", "😂", "🦙", "👍", "❤️", "🔥", "🎉", "🚀", "🐶", "🌍", "☕", "✅", "⚠️", "🤖", "🙏", "💯", "😍", "🥲", "🫠"]
SKIN_TONES = ["\U0001F3FB", "\U0001F3FC", "\U0001F3FD", "\U0001F3FE", "\U0001F3FF"]
ZWJ_SEQUENCES = ["👨\u200d👩\u200d👧\u200d👦", "👩\u200d💻", "🏳️\u200d🌈", "🧑🏽\u200d🚀", "👁️\u200d🗨️",
                 "🐕\u200d🦺", "❤️\u200d🔥", "👨🏿\u200d🤝\u200d👨🏻"]
FLAGS = ["🇺🇸", "🇯🇵", "🇫🇷", "🇧🇷", "🇮🇳", "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"]
KEYCAPS = ["1\ufe0f\u20e3", "#\ufe0f\u20e3", "*\ufe0f\u20e3"]


def code_point(rng, ranges):
    first, last = rng.choice(ranges)
    return chr(rng.randint(first, last))


def sentence(rng, max_words=14):
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, max_words))]
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice([".", "?", "!", "", ",", "...", ":", ";"])


def english(rng):
    return " ".join(sentence(rng) for _ in range(rng.randint(1, 3)))


def punctuation(rng):
    parts = []
    for _ in range(rng.randint(1, 12)):
        if rng.random() < 0.5:
            parts.append("".join(rng.choice(string.punctuation) for _ in range(rng.randint(1, 5))))
        else:
            parts.append(rng.choice(WORDS))
        parts.append(rng.choice(["", " "]))
    return "".join(parts)


def digits(rng):
    forms = [lambda: str(rng.randint(0, 10 ** rng.randint(1, 12))),
             lambda: "%.*f" % (rng.randint(1, 6), rng.uniform(-1e4, 1e4)),
             lambda: "%04d-%02d-%02d" % (rng.randint(1900, 2100), rng.randint(1, 12), rng.randint(1, 28)),
             lambda: "+1 (%03d) %03d-%04d" % (rng.randint(0, 999), rng.randint(0, 999), rng.randint(0, 9999)),
             lambda: "0x%X" % rng.getrandbits(rng.randint(4, 64)),
             lambda: "%d%%" % rng.randint(0, 100),
             lambda: "%de%d" % (rng.randint(1, 9), rng.randint(-30, 30)),
             lambda: "".join(rng.choice(string.digits) for _ in range(rng.randint(20, 60)))]
    return " ".join(rng.choice(forms)() if rng.random() < 0.7 else rng.choice(WORDS)
                    for _ in range(rng.randint(1, 6)))


def whitespace(rng):
    parts = [rng.choice(WHITESPACE) * rng.randint(0, 3)]
    for _ in range(rng.randint(1, 8)):
        parts.append(rng.choice(WORDS))
        parts.append(rng.choice(WHITESPACE) * rng.randint(1, 4))
    if rng.random() < 0.5:
        parts.pop()
    if rng.random() < 0.2:
        parts.append(" " * rng.randint(1, 40))
    return "".join(parts)


def code(rng):
    name = rng.choice(WORDS)
    lines = [rng.choice(["function %s() {" % name, "if (%s) {" % name, "def %s(x):" % name, "}", "});",
                        "int %s = %d;" % (name, rng.randint(0, 999)), "return %s;" % name, "/* %s */" % name,
                        "<div class=\"%s\">" % name, "\"%s\": [1, 2, 3]," % name, "print(f\"{%s!r}\")" % name,
                        "    %s += 1;" % name, "\t%s();" % name, "#include <%s.h>" % name]) for _ in
             range(rng.randint(1, 6))]
    return rng.choice(["\n", "\r\n", "\r\n", "\r"]).join(lines) + rng.choice(["", "\n", "\r\n", ";\r"])


def cjk(rng):
    parts = []
    for _ in range(rng.randint(1, 6)):
        parts.append("".join(code_point(rng, CJK) for _ in range(rng.randint(1, 10))))
        parts.append(rng.choice(["", "", " ", "，", "。", " " + rng.choice(WORDS) + " ", "、", "!"]))
    return "".join(parts)


def emoji(rng):
    forms = [lambda: rng.choice(EMOJI),
             lambda: rng.choice(["👍", "👋", "🙌", "🧑", "👩"]) + rng.choice(SKIN_TONES),
             lambda: rng.choice(ZWJ_SEQUENCES),
             lambda: rng.choice(FLAGS),
             lambda: rng.choice(KEYCAPS),
             lambda: rng.choice(WORDS)]
    return rng.choice(["", " "]).join(rng.choice(forms)() for _ in range(rng.randint(1, 8)))


def combining(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        word = ""
        for letter in rng.choice(WORDS):
            word += letter
            for _ in range(rng.choice([0, 0, 1, 1, 2, 4])):
                word += chr(rng.randint(*COMBINING))
        parts.append(word)
    parts.append(rng.choice(["Tiếng Việt", "naïve café", "Ångström", "Zoë", "façade", "", "ǅ ǈ ǋ", "ﬁ ﬂ"]))
    return " ".join(parts)


def scripts(rng):
    return " ".join("".join(code_point(rng, SCRIPTS) for _ in range(rng.randint(1, 9)))
                    for _ in range(rng.randint(1, 6)))


def byte_fallback(rng):
    parts = []
    for _ in range(rng.randint(1, 6)):
        parts.append("".join(code_point(rng, RARE) for _ in range(rng.randint(1, 5))))
        parts.append(rng.choice(["", " ", rng.choice(WORDS), " " + rng.choice(WORDS) + " "]))
    return "".join(parts)


def special_literals(rng):
    parts = []
    for _ in range(rng.randint(1, 6)):
        parts.append(rng.choice(SPECIAL_LITERALS if rng.random() < 0.7 else LOOKALIKES))
        parts.append(rng.choice(["", " ", "\n", "  ", rng.choice(WORDS), " " + rng.choice(WORDS) + " ", "\t"]))
    if rng.random() < 0.5:
        parts.insert(0, rng.choice(["", " ", rng.choice(WORDS), "\n"]))
    return "".join(parts)


def prompt(rng):
    question = rng.choice(QUESTIONS)
    router = rng.choice(["<ROUTER>", "<ROUTER>", ""])
    turn = "USER: <image>\n%s%s ASSISTANT:" % (question, router)
    text = rng.choice([SYSTEM + " " + turn, turn])
    if rng.random() < 0.3:  # llava_v1 closes each answer with </s>
        text += " " + english(rng) + "</s>USER: " + rng.choice(QUESTIONS) + " ASSISTANT:"
    return text


def random_unicode(rng):
    chars = []
    while len(chars) < rng.randint(1, 20):
        c = rng.choice([rng.randint(0x20, 0x7E), rng.randint(0xA0, 0xFFFF), rng.randint(0x10000, 0x10FFFF)])
        if not 0xD800 <= c <= 0xDFFF:  # surrogates have no UTF-8 form
            chars.append(chr(c))
    return "".join(chars)


GENERATORS = [(english, 2000), (punctuation, 600), (digits, 600), (whitespace, 1000), (code, 600), (cjk, 800),
              (emoji, 800), (combining, 600), (scripts, 800), (byte_fallback, 800), (special_literals, 800),
              (prompt, 500), (random_unicode, 500)]


def edge_cases():
    cases = ["", " ", "  ", "\t", "\n", "\r", "\r\n", "\x00", "▁", "▁▁", " ▁", "Hello world!", " Hello", "Hello ",
             "USER: <image>\nWhat is shown in this image? ASSISTANT:", "This is 🦙.cpp", "\U0010FFFF", "\uFEFF",
             "\uFFFD", " " * 100, "\n" * 20, "a" * 200, "ab" * 100, "<s>", "</s>", "<unk>", "<pad>", "<image>",
             "<ROUTER>", " <image> ", "<image>\n", "\n<image>"]
    cases += list(string.printable) + [" " + c for c in string.printable] + [c * 3 for c in string.punctuation]
    return cases


def corpus(rng):
    records = [("edge", text) for text in edge_cases()]
    for generator, count in GENERATORS:
        records += [(generator.__name__, generator(rng)) for _ in range(count)]
    # Long texts: a few hundred to a few thousand characters mixing all categories.
    for _ in range(20):
        records.append(("long", "\n".join(rng.choice(GENERATORS)[0](rng) for _ in range(rng.randint(20, 80)))))
    return records


def added_ids(processor, reference, text):
    """Added tokens cut out first, each segment between them encoded by sentencepiece alone."""
    ids = []
    start = 0
    for match in reference.added_pattern.finditer(text):
        ids += processor.encode(text[start:match.start()])
        ids.append(reference.added[match.group()])
        start = match.end()
    return ids + processor.encode(text[start:])


def golden_records(processor, reference, records):
    for category, text in records:
        ids = processor.encode(text)
        record = {"category": category, "text": text, "ids": ids}
        if reference.encode(text, match_added_tokens=False) != ids:
            sys.exit("tokenizer.json and tokenizer.model disagree on %r: %s vs %s"
                     % (text, reference.encode(text, match_added_tokens=False), ids))
        decoded = processor.decode(ids)
        if decoded != text.replace("▁", " "):  # "▁" in the text comes back as a space, nothing else changes
            sys.exit("sentencepiece decodes %r to %r" % (text, decoded))
        if decoded != text:
            record["decoded"] = decoded
        if reference.added_pattern.search(text):
            record["added_ids"] = added_ids(processor, reference, text)
            if reference.encode(text, match_added_tokens=True) != record["added_ids"]:
                sys.exit("added tokens: tokenizer.json gives %s for %r, sentencepiece per segment %s"
                         % (reference.encode(text, match_added_tokens=True), text, record["added_ids"]))
        yield record


def byte_ids(data):
    """Ids of the byte pieces <0x00>..<0xFF>, which are 3..258."""
    return [b + 3 for b in data]


def decode_sequences(rng):
    """Hand-picked id sequences, then random ones mixing pieces, byte pieces (valid UTF-8 or not) and <s>/</s>."""
    llama = byte_ids("🦙".encode("utf-8"))
    hello, world = 15043, 3186  # "▁Hello", "▁world"
    cases = [
        [1, hello, world, 29991], [hello, world],                   # the first "▁" is dropped, with or without <s>
        [1, 29871, hello], [1, 259, hello], [29871], [259],         # "▁" and "▁▁" before and as the first piece
        [1, 910, 338, 29871] + llama + [29889, 8223], llama,        # bytes assembled across pieces into UTF-8
        llama[:2], llama[1:],                                       # truncated and stray multi-byte sequences
        byte_ids(b"\xc3\xa9"), byte_ids(b"\xc3"), byte_ids(b"\xff"), byte_ids(b"\xe1A"),
        [hello] + byte_ids(b"\xe4\xbd") + [world],
        [1, hello, 2, 1, world], [1, 2], [],                        # <s> and </s> decode to nothing
        [13, 13], [1, 13, hello],                                   # <0x0A> newlines
        byte_ids(b" ") + [hello], [1] + byte_ids(b"  ") + [hello],  # a space as a byte piece is not the dummy "▁"
    ]
    pieces = list(range(259, 32000))
    for _ in range(400):
        ids = []
        for _ in range(rng.randint(1, 16)):
            kind = rng.random()
            if kind < 0.55:
                ids.append(rng.choice(pieces))
            elif kind < 0.8:
                text = code_point(rng, CJK + RARE + SCRIPTS)
                encoded = list(text.encode("utf-8"))
                if rng.random() < 0.25:  # a truncated or stray multi-byte sequence
                    encoded = encoded[:rng.randint(0, len(encoded) - 1)] or [rng.randint(0x80, 0xFF)]
                ids += byte_ids(encoded)
            elif kind < 0.9:
                ids.append(rng.choice([29871, 259, 13]))
            else:
                ids.append(rng.choice([1, 2]))
        cases.append(ids)
    return cases


def write_jsonl(path, records, compress):
    lines = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
    data = lines.encode("utf-8")
    with open(path, "wb") as f:
        # mtime 0 and no file name: rebuilding gives the same bytes.
        f.write(gzip.compress(data, compresslevel=9, mtime=0) if compress else data)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    assets, golden = sys.argv[1:]
    processor = sentencepiece.SentencePieceProcessor(model_file=os.path.join(assets, "tokenizer.model"))
    reference = ReferenceTokenizer(os.path.join(assets, "tokenizer.json"))
    rng = random.Random(SEED)
    os.makedirs(golden, exist_ok=True)

    encode_records = list(golden_records(processor, reference, corpus(rng)))
    write_jsonl(os.path.join(golden, "encode.jsonl.gz"), encode_records, compress=True)

    decode_records = [{"ids": ids, "sentencepiece": processor.decode(ids), "tokenizer_json": reference.decode(ids)}
                      for ids in decode_sequences(rng)]
    write_jsonl(os.path.join(golden, "decode.jsonl"), decode_records, compress=False)

    with_added = sum("added_ids" in r for r in encode_records)
    differing = sum(r["sentencepiece"] != r["tokenizer_json"] for r in decode_records)
    print("%s: %d texts (%d with added tokens), tokenizer.json agrees with sentencepiece on all; "
          "%d decode cases (%d where the two decoders differ)"
          % (golden, len(encode_records), with_added, len(decode_records), differing))


if __name__ == "__main__":
    main()
