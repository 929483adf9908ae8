"""Goldens of the repository's tiny DPN-LLaVA (models/tiny-dpn-llava) for TinyModelGoldenTest.

For a few eval questions of different types (world/eval/, fixed indices) it runs the whole request as the
reference does it: the llava_hf prompt with <ROUTER>, the model's SentencePiece tokenizer, pad-to-square
preprocessing at the config's image size, a prefill with the config's adaptive pooling, then greedy decoding
through the KV caches; and again with pooling "none". It writes one file,
runtime/src/test/resources/tiny-goldens/goldens.safetensors.

The model is real (F16 weights computed in F32) and the file small, so the goldens are samples, in F32: the
visual rows at a stride and every text row of each activation, the logits at a stride plus the highest ones;
each sampled tensor X comes with X.rows (I32), the rows (or vocabulary ids) it holds. The file's __metadata__
"golden" entry is JSON with the non-tensor facts: the model's sha256 (the Java test refuses goldens of another
model), prompts, pixel checksums, routing decisions, tokens and text, their margins, and the tolerances.

Every decision the Java side must reproduce has a margin above what the tolerances allow: the greedy tokens
end before a step without one, and a router without one stops the script. An F64 run of the same requests
measures how far the F32 reference itself is from exact arithmetic; the script stops if that leaves the
tolerances less than HEADROOM times room, as a deeper or trained model might.

Run from the repository root with Debian's torch:
    /usr/bin/python3 runtime/src/test/python/make_tiny_model_goldens.py [MODEL_DIR]
"""

import hashlib
import json
import sys
import warnings
from pathlib import Path

import torch

from make_model_goldens import ROOT, RecordingPass, grid_of, top_gap  # also puts the reference on sys.path

from dpn_ref.checkpoint import load_model
from dpn_ref.preprocess import load_image
from dpn_ref.prompt import as_tokenizer, build_prompt, encode_prompt
from dpn_ref.safetensors_io import save_file

MODEL = ROOT / "models/tiny-dpn-llava"
EVAL = ROOT / "world/eval"
OUT = ROOT / "runtime/src/test/resources/tiny-goldens/goldens.safetensors"
# big_shape_colour (coarse), count_small and relative_position (fine), describe (mixed, long answers)
EXAMPLES = (0, 3, 5, 6)
NEW_TOKENS = 16
EOS = 2
# Odd, so the sampled visual rows of the 16-, 8- and 4-wide grids fall on every column.
ROW_STRIDE = 7
VOCAB_STRIDE = 31
TOP_LOGITS = 16
DECODE_TOP_LOGITS = 8
TOLERANCES = {
    # The largest |Java - reference| of a compared tensor relative to its largest |reference| value: both sides
    # compute in F32 from the same F16 weights, in other orders, so they differ by rounding, which scales with
    # the values and is of the order of the reference's own distance from F64 (trained model: up to 6e-6 on hidden
    # states, 1.6e-5 on logits, which carry all eight layers' rounding). A misread weight, a wrong pooled row or a
    # misplaced position differs by 1e-2 or more.
    "vision_features": 5e-5, "visual_tokens": 5e-5, "hidden": 1e-4, "logits": 5e-4,
    # Absolute, on values in [0, 1]; the trained routers' F32 error against F64 is 2.2e-7.
    "probabilities": 5e-6,
}
TOLERANCE_OF = {"vision_features": "vision_features", "visual_tokens": "visual_tokens",
                "hidden_after_layer": "hidden", "prefill_logits": "logits", "decode_logits": "logits"}
HEADROOM = 10


def tokenizer_of(folder):
    """The reference's SentencePiece tokenizer with the folder's added tokens (<image>, <pad>, <ROUTER>)."""
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    pieces = as_tokenizer(folder / "tokenizer.model").processor.get_piece_size()
    added = {token["content"]: int(token_id) for token_id, token in config["added_tokens_decoder"].items()
             if int(token_id) >= pieces}
    return as_tokenizer(folder / "tokenizer.model", added)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Sampler:
    """Collects sampled tensors: X holds the given rows of a tensor, X.rows their indices."""

    def __init__(self):
        self.tensors = {}

    def rows(self, name, tensor, rows):
        rows = sorted(set(rows))
        self.tensors[name] = tensor[rows].contiguous()
        self.tensors[name + ".rows"] = torch.tensor(rows, dtype=torch.int32)

    def visual(self, name, tensor):
        self.rows(name, tensor, range(0, tensor.shape[0], ROW_STRIDE))

    def sequence(self, name, hidden, visual_start, visual_length):
        """Every text row, the visual span's rows at a stride."""
        visual_end = visual_start + visual_length
        text = [*range(visual_start), *range(visual_end, hidden.shape[0])]
        self.rows(name, hidden, [*text, *range(visual_start, visual_end, ROW_STRIDE)])

    def logits(self, name, logits):
        """The logits at a stride, and the highest ones."""
        best = torch.topk(logits, TOP_LOGITS).indices.tolist()
        self.rows(name, logits, [*range(0, logits.shape[0], VOCAB_STRIDE), *best])

    def top_logits(self, name, logits):
        self.rows(name, logits, torch.topk(logits, DECODE_TOP_LOGITS).indices.tolist())


def clear_winner(logits):
    """Whether the argmax stays put when each logit may be off by the tolerance."""
    return top_gap(logits) > 2 * TOLERANCES["logits"] * float(logits.abs().max())


def greedy(model, logits, caches, sampler, prefix):
    """NEW_TOKENS greedy tokens through the KV caches, or fewer: they end before a step without a clear winner.

    They go on past EOS, so that the caches see as many steps when a short answer ends at once.
    """
    tokens, margins = [], []
    for step in range(NEW_TOKENS):
        if not clear_winner(logits):
            break
        margins.append(top_gap(logits))
        tokens.append(int(logits.argmax()))
        if step + 1 == NEW_TOKENS:
            break
        logits = model.decode_step(tokens[-1], caches)
        sampler.top_logits(f"{prefix}.decode_logits.{step}", logits)
    return {"generated": tokens, "logit_margins": margins}


def run(model, ids, pixels, sampler, prefix, intermediates):
    """One request as the reference runs it: the sampled logits (and, if asked, intermediates) go to `sampler`;
    returns the facts."""
    config = model.config
    with torch.no_grad():
        if intermediates:
            vision = model.vision_tower.vision_model.hidden_state(pixels[None], config.vision_layers_used)[0, 1:]
            sampler.visual(f"{prefix}.vision_features", vision)
            sampler.visual(f"{prefix}.visual_tokens", model.image_features(pixels[None])[0][0])
        caches = model.new_caches()
        output = model(torch.tensor([ids]), pixel_values=pixels[None], caches=caches)
        trace = output.traces[0]
        facts = {"layer_tokens": trace.layer_lengths, "layer_grids": [grid_of(g) for g in trace.layer_grids],
                 "decisions": [decision_facts(d, prefix) for d in trace.decisions], "hidden_layers": []}
        if intermediates:
            image_at = ids.index(config.image_token_index)
            last_layer = config.text_config.num_hidden_layers - 1
            facts["hidden_layers"] = sorted({d.layer for d in trace.decisions} | {last_layer})
            for layer in facts["hidden_layers"]:
                hidden = RecordingPass.hidden_after[layer]
                sampler.sequence(f"{prefix}.hidden_after_layer.{layer}", hidden, image_at,
                                 hidden.shape[0] - len(ids) + 1)
        logits = output.logits[0, output.lengths[0] - 1]
        sampler.logits(f"{prefix}.prefill_logits", logits)
        return {**facts, **greedy(model, logits, caches, sampler, prefix)}


def decision_facts(d, prefix):
    if d.probs is not None and top_gap(d.probs) <= 2 * TOLERANCES["probabilities"]:
        raise SystemExit(f"{prefix}: the router of layer {d.layer} has no clear choice {d.probs.tolist()}; "
                         "pick other EXAMPLES")
    return {"layer": d.layer, "expert": d.expert, "kernel": None if d.kernel is None else list(d.kernel),
            "probabilities": None if d.probs is None else d.probs.tolist(),
            "grid_in": grid_of(d.grid_in), "grid_out": grid_of(d.grid_out), "skipped": d.skipped is not None}


def answer(tokenizer, facts):
    """What generation proper returns: the greedy tokens to the first EOS (included), and their text."""
    tokens = facts["generated"]
    end = tokens.index(EOS) + 1 if EOS in tokens else len(tokens)
    facts["answer_tokens"] = tokens[:end]
    facts["text"] = tokenizer.decode([t for t in tokens[:end] if t != EOS])


def rounding_errors(model, requests, tensors, facts):
    """The F32 reference's own rounding error per tolerance, measured as the Java test measures its error:
    against an F64 run of the same requests (adaptive pooling)."""
    exact = Sampler()
    exact_facts = [run(model, ids, pixels.double(), exact, prefix, True) for prefix, ids, pixels in requests]
    errors = dict.fromkeys(TOLERANCES, 0.0)
    for name, value in exact.tensors.items():
        rows = tensors.get(name + ".rows")
        if rows is None or not torch.equal(rows, exact.tensors[name + ".rows"]):
            continue  # .rows themselves, or the F32 run took another token
        error = float((tensors[name].double() - value).abs().max() / value.abs().max())
        tolerance = TOLERANCE_OF[name.split(".")[2]]
        errors[tolerance] = max(errors[tolerance], error)
    for run32, run64 in zip(facts, exact_facts):
        for d32, d64 in zip(run32["decisions"], run64["decisions"]):
            if d32["probabilities"] is not None and d32["expert"] == d64["expert"]:
                error = max(abs(a - b) for a, b in zip(d32["probabilities"], d64["probabilities"]))
                errors["probabilities"] = max(errors["probabilities"], error)
    return errors


def main():
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL
    warnings.simplefilter("ignore")  # the unpooled model leaves the router weights unused, as expected
    tokenizer = tokenizer_of(folder)
    router_id = tokenizer.token_to_id("<ROUTER>")
    adaptive = load_model(folder, router_token_id=router_id).eval()
    unpooled = load_model(folder, pooling=None).eval()
    config = adaptive.config
    examples = [json.loads(line) for line in (EVAL / "split.jsonl").read_text(encoding="utf-8").splitlines()]

    sampler = Sampler()
    items, requests = [], []
    for index in EXAMPLES:
        example = examples[index]
        prefix = f"item{len(items)}"
        ids = encode_prompt(tokenizer, build_prompt(example["question"], "llava_hf", True), config.image_token_index)
        pixels = load_image(EVAL / example["image"], size=config.vision_config.image_size, mode="pad")
        item = {"example": index, "image": f"world/eval/{example['image']}", "question": example["question"],
                "qtype": example["qtype"], "input_ids": ids,
                "pixels_sha256": hashlib.sha256(pixels.numpy().tobytes()).hexdigest(),
                "adaptive": run(adaptive, ids, pixels, sampler, f"{prefix}.adaptive", True),
                "none": run(unpooled, ids, pixels, sampler, f"{prefix}.none", False)}
        answer(tokenizer, item["adaptive"])
        answer(tokenizer, item["none"])
        items.append(item)
        requests.append((f"{prefix}.adaptive", ids, pixels))
        pooled, plain = item["adaptive"], item["none"]
        print(f"{prefix} ({example['qtype']}): experts {[d['expert'] for d in pooled['decisions']]}, tokens per "
              f"layer {pooled['layer_tokens']}, {len(pooled['generated'])}/{len(plain['generated'])} greedy tokens "
              f"(least margin {min(pooled['logit_margins'] + plain['logit_margins']):.2g}), answers "
              f"{pooled['text']!r} / none {plain['text']!r}")

    exact = load_model(folder, router_token_id=router_id, dtype=torch.float64).eval()
    errors = rounding_errors(exact, requests, sampler.tensors, [item["adaptive"] for item in items])
    print("the F32 reference's error against F64: " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))
    for name, error in errors.items():
        if error * HEADROOM > TOLERANCES[name]:
            raise SystemExit(f"{name}: the reference's own F32 error {error:.1e} leaves the tolerance "
                             f"{TOLERANCES[name]:.0e} less than {HEADROOM}x headroom; revisit TOLERANCES")

    facts = {"model": folder.name, "model_sha256": sha256(folder / "model.safetensors"),
             "router_token_id": router_id, "template": "llava_hf", "image_mode": "pad", "items": items,
             "tolerances": TOLERANCES, "reference_f32_errors": errors}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file(sampler.tensors, OUT, metadata={"golden": json.dumps(facts)})
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size / 2 ** 20:.2f} MiB, model sha256 {facts['model_sha256']}")


if __name__ == "__main__":
    main()
