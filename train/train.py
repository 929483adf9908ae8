"""Trains tiny-llava from scratch on the synthetic VQA world, then tiny-dpn-llava from it, and exports both.

    nice -n 19 /usr/bin/python3 train/train.py --out models               # all stages (see train/README.md)
    nice -n 19 /usr/bin/python3 train/train.py --out models --stage dpn   # DPN only, from models/tiny-llava

Three stages: the vision tower learns the scenes' attributes (vision_pretraining.py), tiny-llava learns to
answer (conversations, data.py), tiny-dpn-llava adds the routers and learns with pooling (single turns).
Everything is seeded: the initialisation, the data (stage example k is the world's training example
first_example + k) and the experts sampled in DPN training. Threads are fixed at 2, so a rerun on the same
machine repeats the same float reductions and gives the same weights.
"""

import argparse
import math
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

# data puts reference/ and world/ on sys.path, so it comes before dpn_ref.
from data import ROUTER_TOKEN_ID, SequenceMaker, collate, load_tokenizer
from export import DPN_MODEL, LLAVA_MODEL, export_model
from vision_pretraining import AttributeObjective
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
        vision_config=VisionConfig(hidden_size=128, intermediate_size=512, num_hidden_layers=4,
                                   num_attention_heads=4, image_size=224, patch_size=14, hidden_act="quick_gelu",
                                   extra={"model_type": "clip_vision_model"}),
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


# DPE after decoder layers 1, 3 and 5 of 8: the spacing of 7/15/23 in LLaVA's 32 layers (the last layer of
# each quarter), so each following stage of two layers sees fewer visual tokens than the one before.
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
    first_example: int       # stage example k is the world's training example first_example + k
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    clip_norm: float = 1.0


# The example ranges are disjoint: no stage sees another's images.
VISION_STAGE = Stage("vision", steps=600, batch_size=32, peak_lr=2e-3, warmup_steps=20, first_example=0)
LLAVA_STAGE = Stage("tiny-llava", steps=400, batch_size=16, peak_lr=1e-3, warmup_steps=30,
                    first_example=1_000_000)
DPN_STAGE = Stage("tiny-dpn-llava", steps=200, batch_size=16, peak_lr=5e-4, warmup_steps=10,
                  first_example=2_000_000)
# The routers are new and sit behind a softmax at temperature 10: at the fine-tuning rate they would hardly
# move in 200 steps.
ROUTER_LR_SCALE = 10.0


def learning_rate(stage, step):
    """Linear warmup, then a cosine decay to min_lr_ratio of the peak."""
    if step < stage.warmup_steps:
        return stage.peak_lr * (step + 1) / stage.warmup_steps
    progress = (step - stage.warmup_steps) / max(1, stage.steps - stage.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return stage.peak_lr * (stage.min_lr_ratio + (1 - stage.min_lr_ratio) * cosine)


def initialise(module):
    """GPT-2-style N(0, 0.02) weights and zero biases; norms keep their ones. (The reference's defaults are
    for loading, not training: N(0, 1) embeddings would start the tied LM head with huge logits.)"""
    for part in module.modules():
        if isinstance(part, (nn.Linear, nn.Conv2d, nn.Embedding)):
            nn.init.normal_(part.weight, std=0.02)
            if getattr(part, "bias", None) is not None:
                nn.init.zeros_(part.bias)
        if hasattr(part, "class_embedding"):
            nn.init.normal_(part.class_embedding, std=0.02)


class LlavaObjective:
    """CE (+ the weighted routing loss) of the model on a batch of sequences from `make(k)`."""

    def __init__(self, model, make, generator):
        self.model = model
        self.make = make
        self.generator = generator

    def parameter_groups(self):
        routers = [p for name, p in self.model.named_parameters() if ".pooling_router." in name]
        rest = [p for name, p in self.model.named_parameters() if ".pooling_router." not in name]
        return [{"params": rest, "lr_scale": 1.0}] + ([{"params": routers, "lr_scale": ROUTER_LR_SCALE}]
                                                       if routers else [])

    def __call__(self, first, size):
        batch = collate([self.make(k) for k in range(first, first + size)])
        output = self.model.training_loss(batch.input_ids, batch.pixel_values, batch.attention_mask, batch.labels,
                                          self.generator)
        targets = batch.labels[:, 1:][batch.labels[:, 1:] != IGNORE_LABEL]
        metrics = {"ce": output.ce_loss.item(),
                   "token accuracy": (output.logits.argmax(-1) == targets).float().mean().item()}
        if output.routing_loss is not None:
            metrics["routing loss"] = output.routing_loss.item()
        return output.loss, metrics, output.traces


class RoutingMonitor:
    """Per DPE layer: how often each expert is the router's argmax, and the mean probabilities."""

    def __init__(self):
        self.probs = defaultdict(list)

    def add(self, traces):
        for trace in traces:
            for decision in trace.decisions:
                if decision.probs is not None:
                    self.probs[decision.layer].append(decision.probs.detach())

    def summary(self):
        parts = []
        for layer, probs in sorted(self.probs.items()):
            probs = torch.stack(probs)
            argmax = torch.bincount(probs.argmax(-1), minlength=probs.shape[1]).tolist()
            mean = ",".join(f"{p:.2f}" for p in probs.mean(0).tolist())
            parts.append(f"L{layer} argmax {'/'.join(map(str, argmax))} p {mean}")
        return "; ".join(parts)


def run_stage(stage, objective, groups, log, log_every=10):
    """AdamW over `groups` (dicts of params and lr_scale) on `objective(first, size)`, which returns the loss,
    metrics to log and pooling traces. Returns the seconds it took."""
    optimizer = torch.optim.AdamW(groups, lr=stage.peak_lr, betas=(0.9, 0.95), weight_decay=stage.weight_decay)
    parameters = [p for group in groups for p in group["params"]]
    sums = defaultdict(float)
    monitor = RoutingMonitor()
    started = time.time()
    for step in range(stage.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(stage, step) * group["lr_scale"]
        loss, metrics, traces = objective(stage.first_example + step * stage.batch_size, stage.batch_size)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(parameters, stage.clip_norm)
        optimizer.step()

        for name, value in metrics.items():
            sums[name] += value
        monitor.add(traces)
        done = step + 1
        if done % log_every == 0 or done == stage.steps:
            steps = (done - 1) % log_every + 1
            means = ", ".join(f"{name} {value / steps:.3f}" for name, value in sums.items())
            log(f"{stage.name} {done}/{stage.steps} lr {learning_rate(stage, step):.1e} {means} "
                f"[{time.time() - started:.0f}s] {monitor.summary()}".rstrip())
            sums.clear()
            monitor = RoutingMonitor()
    return time.time() - started


def train_llava(out, stages, tokenizer, log):
    """Vision pretraining, then tiny-llava on conversations; exports tiny-llava."""
    vision_stage, llava_stage = stages
    torch.manual_seed(SEED)
    model = LlavaForConditionalGeneration(tiny_llava_config())
    initialise(model)
    log(f"tiny-llava: {sum(p.numel() for p in model.parameters()):,} parameters")

    model.train()
    attributes = AttributeObjective(model)
    initialise(attributes.heads)
    seconds = run_stage(vision_stage, attributes, [{"params": attributes.parameters(), "lr_scale": 1.0}], log)

    objective = LlavaObjective(model, SequenceMaker(tokenizer, router=False).conversation, generator=None)
    seconds += run_stage(llava_stage, objective, objective.parameter_groups(), log)
    export_model(model, out / LLAVA_MODEL)
    return seconds


def train_dpn(out, stage, tokenizer, log):
    """Adds the routers to the exported tiny-llava (its F16 weights, so this stage alone reruns identically)
    and trains on single turns with experts sampled from the routers; exports tiny-dpn-llava."""
    config = LlavaConfig.load(out / LLAVA_MODEL / "config.json")
    config.pooling = dpn_pooling()
    torch.manual_seed(SEED)
    model = LlavaForConditionalGeneration(config, router_token_id=ROUTER_TOKEN_ID)
    initialise(model)
    missing, unexpected = model.load_state_dict(read_weights(out / LLAVA_MODEL), strict=False)
    unexplained = [n for n in missing if ".pooling_router." not in n and n != "language_model.lm_head.weight"]
    if unexplained or unexpected:
        raise SystemExit(f"{out / LLAVA_MODEL} is not a tiny-llava: missing {unexplained}, unexpected {unexpected}")

    model.train()
    generator = torch.Generator().manual_seed(SEED)
    objective = LlavaObjective(model, SequenceMaker(tokenizer, router=True).single_turn, generator)
    seconds = run_stage(stage, objective, objective.parameter_groups(), log)
    export_model(model, out / DPN_MODEL)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="models", help="folder for tiny-llava/ and tiny-dpn-llava/")
    parser.add_argument("--stage", choices=("all", "llava", "dpn"), default="all")
    parser.add_argument("--steps", type=int, nargs=3, metavar=("VISION", "LLAVA", "DPN"),
                        help="override the stages' step counts (smoke tests)")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    stages = [VISION_STAGE, LLAVA_STAGE, DPN_STAGE]
    if args.steps:
        stages = [replace(stage, steps=steps) for stage, steps in zip(stages, args.steps)]
    out = Path(args.out)

    def log(message):
        print(message, flush=True)

    tokenizer = load_tokenizer()
    if args.stage in ("all", "llava"):
        seconds = train_llava(out, stages[:2], tokenizer, log)
        log(f"tiny-llava trained in {seconds / 60:.1f} min")
    if args.stage in ("all", "dpn"):
        seconds = train_dpn(out, stages[2], tokenizer, log)
        log(f"tiny-dpn-llava trained in {seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
