"""Accuracy and LLM prefill FLOPs of the tiny models on the world's held-out evaluation split.

    nice -n 19 /usr/bin/python3 train/evaluate.py --models models --out train/results

Greedy decoding, exact match of the decoded answer (stripped) per question type and overall, for tiny-llava
without pooling, with static ×2 / ×4 and random pooling at the DPN model's DPE layers, and for
tiny-dpn-llava with its routers. Also the routers' choices per question type. Writes results.md and
results.json to --out.
"""

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import torch

# data puts reference/ and world/ on sys.path, so it comes before dpn_ref.
from data import IMAGE_TOKEN_ID, REPO, ROUTER_TOKEN_ID, TEMPLATE, load_tokenizer
from export import DPN_MODEL, LLAVA_MODEL
from train import DPE_LAYERS, EXPERTS, THREADS
from dpn_ref import Sampling, generate, load_model
from dpn_ref.config import DpeLayerConfig, PoolingConfig
from dpn_ref.preprocess import load_image
from dpn_ref.prompt import build_prompt, encode_prompt
import vqa_world as world

EVAL_SPLIT = REPO / "world" / "eval"
MAX_NEW_TOKENS = 24  # describe answers are 11-12 tokens


def fixed_pooling(kind, kernels=None):
    """Static (one kernel per DPE layer) or random (any of the experts) pooling at the DPN model's layers."""
    if kind == "static":
        layers = [DpeLayerConfig(index, (kernel,), (kernel,)) for index, kernel in zip(DPE_LAYERS, kernels)]
    else:
        layers = [DpeLayerConfig(index, EXPERTS, EXPERTS) for index in DPE_LAYERS]
    return PoolingConfig(pooling_type=kind, layers=layers, pooling_function="max", pooling_location="post")


# (row name, model folder, pooling: a PoolingConfig, None for none, or "checkpoint" for the model's own)
SETUPS = (
    ("tiny-llava, no pooling", LLAVA_MODEL, None),
    ("tiny-llava, static ×2 (1,2)", LLAVA_MODEL, fixed_pooling("static", [(1, 2)] * len(DPE_LAYERS))),
    ("tiny-llava, static ×4 (2,2)", LLAVA_MODEL, fixed_pooling("static", [(2, 2)] * len(DPE_LAYERS))),
    ("tiny-llava, random", LLAVA_MODEL, fixed_pooling("random")),
    ("tiny-dpn-llava, adaptive", DPN_MODEL, "checkpoint"),
)


def evaluate(model, records, tokenizer, router, log):
    """Per record: the decoded answer, whether it matches, and the request's statistics."""
    results = []
    for n, record in enumerate(records):
        prompt = build_prompt(record["question"], TEMPLATE, router)
        ids = encode_prompt(tokenizer, prompt, IMAGE_TOKEN_ID)
        pixels = load_image(EVAL_SPLIT / record["image"], size=world.IMAGE_SIZE)[None]
        # The seed only drives random pooling: a different draw for each request.
        generation = generate(model, ids, pixels, MAX_NEW_TOKENS, Sampling(seed=n))
        answer = tokenizer.decode(generation.tokens).strip()
        results.append({"qtype": record["qtype"], "answer": answer, "correct": answer == record["answer"],
                        "stats": generation.stats})
        if (n + 1) % 100 == 0:
            log(f"  {n + 1}/{len(records)}")
    return results


def summarise(name, pooling_type, results, baseline_flops):
    by_type = defaultdict(list)
    for result in results:
        by_type[result["qtype"]].append(result["correct"])
    prefill = sum(r["stats"].prefill_flops for r in results) / len(results)
    routing = defaultdict(lambda: defaultdict(Counter))
    for result in results:
        for dpe in result["stats"].dpe:
            routing[result["qtype"]][dpe.layer][str(dpe.kernel) if dpe.skipped is None else "skipped"] += 1
    return {
        "setup": name,
        "pooling_type": pooling_type,
        "accuracy": sum(r["correct"] for r in results) / len(results),
        "accuracy_by_qtype": {qtype: sum(hits) / len(hits) for qtype, hits in by_type.items()},
        "llm_prefill_gflops": prefill / 1e9,
        "llm_prefill_saving": 1 - prefill / (baseline_flops if baseline_flops else prefill),
        "vision_gflops": results[0]["stats"].vision_flops / 1e9,
        "prefill_saving_by_qtype": {
            qtype: 1 - sum(r["stats"].prefill_flops for r in results if r["qtype"] == qtype)
            / sum(r["stats"].prefill_flops_unpooled for r in results if r["qtype"] == qtype)
            for qtype in by_type},
        "routing": {qtype: {layer: dict(counts) for layer, counts in layers.items()}
                    for qtype, layers in routing.items()},
    }


def markdown(summaries, qtypes):
    lines = ["| setup | " + " | ".join(qtypes) + " | overall | LLM prefill GFLOPs | saving |",
             "|---|" + "---|" * (len(qtypes) + 3)]
    for s in summaries:
        cells = [f"{100 * s['accuracy_by_qtype'][q]:.0f}" for q in qtypes]
        lines.append(f"| {s['setup']} | " + " | ".join(cells) + f" | {100 * s['accuracy']:.1f} | "
                     f"{s['llm_prefill_gflops']:.3f} | {100 * s['llm_prefill_saving']:.0f}% |")
    lines += ["", f"Accuracy in %, exact match, {len(qtypes)} question types of the held-out split; "
              f"vision tower + projector: {summaries[0]['vision_gflops']:.3f} GFLOPs per image, in every setup. "
              "Saving: LLM prefill FLOPs against tiny-llava without pooling (DPN.md §5)."]
    for s in summaries:
        if s["pooling_type"] == "adaptive":
            lines += ["", f"Pooling kernel chosen per DPE layer and question type, {s['setup']} "
                      "(counts of (kh, kw); the saving is the LLM prefill saving of that question type):", "",
                      "| qtype | " + " | ".join(f"layer {layer}" for layer in DPE_LAYERS) + " | saving |",
                      "|---|" + "---|" * (len(DPE_LAYERS) + 1)]
            for qtype in qtypes:
                cells = [", ".join(f"{kernel} {count}" for kernel, count in sorted(s["routing"][qtype][layer].items()))
                         for layer in DPE_LAYERS]
                lines.append(f"| {qtype} | " + " | ".join(cells)
                             + f" | {100 * s['prefill_saving_by_qtype'][qtype]:.0f}% |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="models", help="folder holding tiny-llava/ and tiny-dpn-llava/")
    parser.add_argument("--out", default="train/results", help="folder for results.md and results.json")
    parser.add_argument("--limit", type=int, help="evaluate only the first N examples (smoke tests)")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)

    def log(message):
        print(message, flush=True)

    tokenizer = load_tokenizer()
    records = world.read_split(EVAL_SPLIT)[:args.limit]
    qtypes = list(dict.fromkeys(r["qtype"] for r in records))
    summaries = []
    for name, folder, pooling in SETUPS:
        started = time.time()
        kept = {} if pooling == "checkpoint" else {"pooling": pooling}
        model = load_model(Path(args.models) / folder, router_token_id=ROUTER_TOKEN_ID, **kept)
        router = model.config.pooling is not None and model.config.pooling.use_special_token
        results = evaluate(model, records, tokenizer, router, log)
        baseline = summaries[0]["llm_prefill_gflops"] * 1e9 if summaries else None
        pooling_type = "none" if model.config.pooling is None else model.config.pooling.pooling_type
        summaries.append(summarise(name, pooling_type, results, baseline))
        log(f"{name}: accuracy {100 * summaries[-1]['accuracy']:.1f}%, "
            f"saving {100 * summaries[-1]['llm_prefill_saving']:.0f}%, {time.time() - started:.0f}s")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(summaries, indent=2) + "\n", encoding="utf-8")
    (out / "results.md").write_text(markdown(summaries, qtypes), encoding="utf-8")
    print(markdown(summaries, qtypes))


if __name__ == "__main__":
    main()
