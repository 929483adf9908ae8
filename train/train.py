"""Trains tiny-llava from scratch on the synthetic VQA world, then tiny-dpn-llava from it, and exports both.

    nice -n 19 /usr/bin/python3 train/train.py --out models          # both stages (see train/README.md)
    nice -n 19 /usr/bin/python3 train/train.py --out models --stage dpn   # DPN only, from models/tiny-llava

Everything is seeded: the model initialisation, the data (example k of a stage is the world's training
example k, see data.py) and the experts sampled in DPN training. Threads are fixed at 2 so that the float
reductions, and hence the weights, come out the same on a rerun on the same machine.
"""

import argparse
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

# data puts reference/ and world/ on sys.path, so it comes before dpn_ref.
from data import ROUTER_TOKEN_ID, SequenceMaker, collate, load_tokenizer
from export import DPN_MODEL, LLAVA_MODEL, export_model
from dpn_ref.checkpoint import read_weights
from dpn_ref.config import DpeLayerConfig, LlavaConfig, PoolingConfig, TextConfig, VisionConfig
from dpn_ref.model import LlavaForConditionalGeneration
from dpn_ref.sequence import IGNORE_LABEL

THREADS = 2
SEED = 20250607


def tiny_llava_config():
    """CLIP ViT at 224 px with 14-px patches (a 16×16 grid, 256 visual tokens), mlp2x_gelu, an 8-layer Llama.

    The 32003-word embedding is the largest tensor, so it is tied with the LM head to keep the files small.
    """
    return LlavaConfig(
        vision_config=VisionConfig(hidden_size=192, intermediate_size=768, num_hidden_layers=4,
                                   num_attention_heads=3, image_size=224, patch_size=14, hidden_act="quick_gelu",
                                   extra={"model_type": "clip_vision_model", "projection_dim": 192}),
        text_config=TextConfig(vocab_size=32003, hidden_size=192, intermediate_size=512, num_hidden_layers=8,
                               num_attention_heads=4, rms_norm_eps=1e-5, max_position_embeddings=1024,
                               extra={"model_type": "llama", "bos_token_id": 1, "eos_token_id": 2,
                                      "pad_token_id": 32001, "tie_word_embeddings": True}),
        image_token_index=32000,
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
        projector_hidden_act="gelu",
        tie_word_embeddings=True,
        extra={"architectures": ["LlavaForConditionalGeneration"], "model_type": "llava", "pad_token_id": 32001,
               "ignore_index": IGNORE_LABEL, "image_seq_length": 256, "torch_dtype": "float16"})


# DPE after decoder layers 1, 3 and 5 of 8: the spacing of 7/15/23 in LLaVA's 32 layers (every quarter, after
# its last layer), so each stage of two layers sees fewer visual tokens than the one before.
DPE_LAYERS = (1, 3, 5)
EXPERTS = ((1, 1), (1, 2), (2, 2))


def dpn_pooling():
    layers = [DpeLayerConfig(index, EXPERTS, EXPERTS) for index in DPE_LAYERS]
    return PoolingConfig(pooling_type="adaptive", layers=layers, pooling_function="max", pooling_location="post",
                         router_version="v1", use_special_token=True)


@dataclass(frozen=True)
class Stage:
    name: str
    steps: int
    batch_size: int
    peak_lr: float
    warmup_steps: int
    conversations: bool      # conversations (see data.py) or the single-turn prompt of the evaluation
    first_example: int       # where in the world's training examples this stage starts
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    clip_norm: float = 1.0


LLAVA_STAGE = Stage("tiny-llava", steps=500, batch_size=16, peak_lr=2e-3, warmup_steps=40, conversations=True,
                    first_example=0)
DPN_STAGE = Stage("tiny-dpn-llava", steps=150, batch_size=16, peak_lr=5e-4, warmup_steps=15, conversations=False,
                  first_example=1_000_000)


def learning_rate(stage, step):
    """Linear warmup, then a cosine decay to min_lr_ratio of the peak."""
    if step < stage.warmup_steps:
        return stage.peak_lr * (step + 1) / stage.warmup_steps
    progress = (step - stage.warmup_steps) / max(1, stage.steps - stage.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return stage.peak_lr * (stage.min_lr_ratio + (1 - stage.min_lr_ratio) * cosine)


def initialise(model):
    """GPT-2-style N(0, 0.02) weights, zero biases; norms keep their ones (the reference's defaults are for
    loading, not training: N(0, 1) embeddings would start the tied LM head with huge logits)."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
    embeddings = model.vision_tower.vision_model.embeddings
    nn.init.normal_(embeddings.class_embedding, std=0.02)


class RoutingMonitor:
    """Per DPE layer: how often each expert is the router's argmax, and the mean probabilities."""

    def __init__(self):
        self.argmax = defaultdict(lambda: defaultdict(int))
        self.probs = defaultdict(list)

    def add(self, traces):
        for trace in traces:
            for decision in trace.decisions:
                if decision.probs is not None:
                    probs = decision.probs.detach()
                    self.argmax[decision.layer][int(probs.argmax())] += 1
                    self.probs[decision.layer].append(probs)

    def summary(self):
        parts = []
        for layer in sorted(self.probs):
            mean = torch.stack(self.probs[layer]).mean(0)
            counts = "/".join(str(self.argmax[layer][e]) for e in range(mean.numel()))
            parts.append(f"L{layer} argmax {counts} p " + ",".join(f"{p:.2f}" for p in mean.tolist()))
        return "; ".join(parts)


def train(model, stage, maker, log):
    """Runs `stage` on `model` in place; returns the seconds it took."""
    generator = torch.Generator().manual_seed(SEED)
    optimizer = torch.optim.AdamW(model.parameters(), lr=stage.peak_lr, betas=(0.9, 0.95),
                                  weight_decay=stage.weight_decay)
    make = maker.conversation if stage.conversations else maker.single_turn
    model.train()
    window = defaultdict(float)
    monitor = RoutingMonitor()
    started = time.time()
    for step in range(stage.steps):
        first = stage.first_example + step * stage.batch_size
        batch = collate([make(k) for k in range(first, first + stage.batch_size)])
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(stage, step)
        output = model.training_loss(batch.input_ids, batch.pixel_values, batch.attention_mask, batch.labels,
                                     generator)
        optimizer.zero_grad(set_to_none=True)
        output.loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), stage.clip_norm)
        optimizer.step()

        targets = batch.labels[:, 1:][batch.labels[:, 1:] != IGNORE_LABEL]
        window["ce"] += output.ce_loss.item()
        window["token_accuracy"] += (output.logits.argmax(-1) == targets).float().mean().item()
        if output.routing_loss is not None:
            window["routing"] += output.routing_loss.item()
        window["steps"] += 1
        monitor.add(output.traces)
        if (step + 1) % 10 == 0 or step + 1 == stage.steps:
            n = window.pop("steps")
            means = " ".join(f"{name} {value / n:.4f}" for name, value in window.items())
            log(f"{stage.name} step {step + 1}/{stage.steps} lr {learning_rate(stage, step):.2e} {means} "
                f"elapsed {time.time() - started:.0f}s {monitor.summary()}".rstrip())
            window.clear()
            monitor = RoutingMonitor()
    return time.time() - started


def train_llava(out, stage, maker, log):
    torch.manual_seed(SEED)
    model = LlavaForConditionalGeneration(tiny_llava_config())
    initialise(model)
    log(f"tiny-llava: {sum(p.numel() for p in model.parameters()):,} parameters")
    seconds = train(model, stage, maker, log)
    export_model(model, out / LLAVA_MODEL)
    return seconds


def train_dpn(out, stage, maker, log):
    """Continues from the exported tiny-llava (its F16 weights, so this stage alone reruns identically)."""
    config = LlavaConfig.load(out / LLAVA_MODEL / "config.json")
    config.pooling = dpn_pooling()
    torch.manual_seed(SEED)
    model = LlavaForConditionalGeneration(config, router_token_id=ROUTER_TOKEN_ID)
    initialise(model)
    missing, unexpected = model.load_state_dict(read_weights(out / LLAVA_MODEL), strict=False)
    new = [name for name in missing if ".pooling_router." not in name and name != "language_model.lm_head.weight"]
    if new or unexpected:
        raise SystemExit(f"{out / LLAVA_MODEL} does not match tiny-llava: missing {new}, unexpected {unexpected}")
    log(f"tiny-dpn-llava: {len(missing) - 1} router tensors added to tiny-llava")
    seconds = train(model, stage, maker, log)
    export_model(model, out / DPN_MODEL)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="models", help="folder for tiny-llava/ and tiny-dpn-llava/")
    parser.add_argument("--stage", choices=("all", "llava", "dpn"), default="all")
    parser.add_argument("--llava-steps", type=int, default=LLAVA_STAGE.steps)
    parser.add_argument("--dpn-steps", type=int, default=DPN_STAGE.steps)
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    out = Path(args.out)

    def log(message):
        print(message, flush=True)

    tokenizer = load_tokenizer()
    if args.stage in ("all", "llava"):
        seconds = train_llava(out, replace(LLAVA_STAGE, steps=args.llava_steps),
                              SequenceMaker(tokenizer, router=False), log)
        log(f"tiny-llava trained in {seconds / 60:.1f} min")
    if args.stage in ("all", "dpn"):
        seconds = train_dpn(out, replace(DPN_STAGE, steps=args.dpn_steps), SequenceMaker(tokenizer, router=True),
                            log)
        log(f"tiny-dpn-llava trained in {seconds / 60:.1f} min")


if __name__ == "__main__":
    sys.exit(main())
