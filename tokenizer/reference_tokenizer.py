"""A pure-Python tokenizer driven by tokenizer.json alone: the reference the runtime's tokenizer follows.

It implements exactly the components that build_assets.py writes (Llama-2's layout) and rejects any other:
added tokens matched as whole strings first, then per text segment the normalizer Prepend("▁") +
Replace(" ", "▁"), BPE by merge rank with byte fallback; decoding Replace("▁", " "), ByteFallback, Fuse,
Strip(one leading " ").
"""
import heapq
import json
import re


class ReferenceTokenizer:

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        self._check_layout(path, spec)
        model = spec["model"]
        self.vocab = model["vocab"]
        self.pieces = {i: piece for piece, i in self.vocab.items()}
        self.added = {token["content"]: token["id"] for token in spec["added_tokens"]}
        self.special_ids = {token["id"] for token in spec["added_tokens"] if token["special"]}
        for content, i in self.added.items():
            self.pieces[i] = content
        # Longest first, so that at one position the longest added token wins (leftmost-longest).
        self.added_pattern = re.compile("|".join(re.escape(content)
                                                 for content in sorted(self.added, key=len, reverse=True)))
        self.merges = {}  # (left id, right id) -> (rank, merged id)
        for rank, merge in enumerate(model["merges"]):
            left, right = merge.split(" ")
            self.merges[(self.vocab[left], self.vocab[right])] = (rank, self.vocab[left + right])
        self.bytes = {self.vocab["<0x%02X>" % b]: b for b in range(256)}

    @staticmethod
    def _check_layout(path, spec):
        expected = {
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": "▁"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
            "pre_tokenizer": None,
            "decoder": {"type": "Sequence", "decoders": [
                {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        }
        for key, value in expected.items():
            if spec.get(key) != value:
                raise ValueError("%s: %s is %r, only Llama-2's %r is supported" % (path, key, spec.get(key), value))
        model = spec["model"]
        if model["type"] != "BPE" or not model["byte_fallback"]:
            raise ValueError("%s: model must be BPE with byte_fallback" % path)
        for token in spec["added_tokens"]:
            if token["lstrip"] or token["rstrip"] or token["single_word"] or token["normalized"]:
                raise ValueError("%s: added token %r: only plain whole-string matching is supported"
                                 % (path, token["content"]))

    def encode(self, text, match_added_tokens):
        """Ids of text, without <s>. With match_added_tokens, added tokens are cut out first and each text
        segment between them is encoded on its own (so it gets its own leading "▁")."""
        if not match_added_tokens:
            return self._encode_segment(text)
        ids = []
        start = 0
        for match in self.added_pattern.finditer(text):
            ids += self._encode_segment(text[start:match.start()])
            ids.append(self.added[match.group()])
            start = match.end()
        return ids + self._encode_segment(text[start:])

    def _encode_segment(self, text):
        if not text:
            return []
        normalized = "▁" + text.replace(" ", "▁")
        symbols = []
        for char in normalized:
            if char in self.vocab:
                symbols.append(self.vocab[char])
            else:
                symbols += [self.vocab["<0x%02X>" % b] for b in char.encode("utf-8")]
        return self._merge(symbols)

    def _merge(self, symbols):
        """Applies the lowest-ranked mergeable adjacent pair until none is left; ties go to the leftmost."""
        # Symbols form a linked list; a queued pair is stale once either of its symbols has changed.
        prev = list(range(-1, len(symbols) - 1))
        next_ = list(range(1, len(symbols) + 1))
        queue = []

        def push(i):
            j = next_[i]
            if j < len(symbols):
                merge = self.merges.get((symbols[i], symbols[j]))
                if merge is not None:
                    heapq.heappush(queue, (merge[0], i, symbols[i], symbols[j], merge[1]))

        for i in range(len(symbols) - 1):
            push(i)
        while queue:
            _, i, left, right, merged = heapq.heappop(queue)
            j = next_[i]
            if symbols[i] != left or j >= len(symbols) or symbols[j] != right:
                continue
            symbols[i] = merged
            symbols[j] = None
            next_[i] = next_[j]
            if next_[i] < len(symbols):
                prev[next_[i]] = i
            if prev[i] >= 0:
                push(prev[i])
            push(i)
        return [s for s in symbols if s is not None]

    def decode(self, ids, skip_special_tokens=True):
        """Text of ids as the tokenizer.json decoder makes it; special tokens are dropped when skipped."""
        pieces = []
        pending = bytearray()  # a run of byte pieces, decoded together as UTF-8
        for i in ids:
            if skip_special_tokens and i in self.special_ids:
                continue
            if i in self.bytes:
                pending.append(self.bytes[i])
                continue
            pieces += self._byte_run(pending)
            pending.clear()
            pieces.append(self.pieces[i].replace("▁", " "))
        pieces += self._byte_run(pending)
        text = "".join(pieces)
        return text[1:] if text.startswith(" ") else text

    @staticmethod
    def _byte_run(data):
        """ByteFallback: a run that is not valid UTF-8 becomes one U+FFFD per byte."""
        if not data:
            return []
        try:
            return [data.decode("utf-8")]
        except UnicodeDecodeError:
            return ["\ufffd" * len(data)]
