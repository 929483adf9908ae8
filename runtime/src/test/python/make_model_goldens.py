"""Golden cases for the Java model (ModelGoldenTest): small random models run through the torch reference.

Each case is a folder under runtime/src/test/resources/goldens/<case>/ holding a model (config.json +
model.safetensors, in the layout and dtype the case names) and goldens.safetensors: the pixels, the vision
tower's selected features, the projector's visual tokens, the hidden states after chosen decoder layers, the
last prompt token's logits and the logits of every greedy decode step. Its __metadata__ "golden" entry is JSON
with the non-tensor facts: prompt ids, request options, pooling decisions, tokens and grid per layer, the
greedy tokens, and the tolerances the Java test applies.

The weights are random but searched over seeds until every decision the Java side must reproduce has a clear
margin (router argmax, greedy argmax), so that float rounding cannot flip one. The goldens are computed from the
model as reloaded from the written files, so half-precision cases see exactly the rounded weights.

Run from the repository root with Debian's torch: /usr/bin/python3 runtime/src/test/python/make_model_goldens.py
"""

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "reference"))

from dpn_ref import model as model_module  # noqa: E402
from dpn_ref.checkpoint import RENAMED_PREFIXES, load_model, save_model  # noqa: E402
from dpn_ref.config import DpeLayerConfig, LlavaConfig, PoolingConfig  # noqa: E402
from dpn_ref.model import LlavaForConditionalGeneration  # noqa: E402
from dpn_ref.pooling import PoolingPass  # noqa: E402
from dpn_ref.safetensors_io import load_file, save_file  # noqa: E402

OUT = ROOT / "runtime/src/test/resources/goldens"
VOCAB = 64
IMAGE_ID, ROUTER_ID, BOS = 63, 62, 1
NEW_TOKENS = 8
SEEDS = range(500)
# Decisions the Java side must reproduce exactly need margins far above float rounding (~1e-6 here).
MIN_PROBABILITY_GAP = 1e-3
MIN_LOGIT_GAP = 1e-2
TOLERANCES = {
    # F32 everywhere; the Java kernels accumulate in other orders (and the scalar backend in double), so the
    # differences are rounding only: ~1e-6 of values of order 1-10. Logits carry the whole model's error.
    "vision_features": 1e-4, "visual_tokens": 1e-4, "hidden": 1e-4, "logits": 1e-4, "probabilities": 1e-5,
}


def three(*pairs):
    return [list(p) for p in pairs]


ONE_TWO_FOUR = three((1, 1), (1, 2), (2, 2))


@dataclasses.dataclass
class Case:
    name: str
    pooling: dict = None                   # the config.json pooling section; None: plain LLaVA
    grid: int = 8                          # patches per image side (patch size 4)
    prompt: tuple = (BOS, 5, 6, IMAGE_ID, 7, 8, 9, ROUTER_ID, 10, 11)
    image: bool = True
    top: dict = dataclasses.field(default_factory=dict)    # top-level config keys
    text: dict = dataclasses.field(default_factory=dict)   # text_config keys
    override: dict = None                  # request-time pooling: {"type": "none"|"random"|"static", ...}
    layout: str = "4.x"                    # checkpoint names: transformers 4.x or 5.x
    dtype: torch.dtype = torch.float32     # stored weights
    want: object = None                    # decisions -> bool: what the seed search looks for

    def config(self):
        data = {
            "vision_config": {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 3,
                              "num_attention_heads": 2, "image_size": 4 * self.grid, "patch_size": 4},
            "text_config": {"vocab_size": VOCAB, "hidden_size": 32, "intermediate_size": 32,
                            "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
                            "rms_norm_eps": 1e-5, "max_position_embeddings": 256, **self.text},
            "image_token_index": IMAGE_ID,
            **self.top,
        }
        if self.pooling is not None:
            data["pooling"] = self.pooling
        return LlavaConfig.from_dict(data)

    def request_pooling(self, config):
        """The pooling the request runs with, as reference config (the Java test builds the same override)."""
        if self.override is None:
            return config.pooling
        kind = self.override["type"]
        if kind == "none":
            return None
        if kind == "random":
            return dataclasses.replace(config.pooling, pooling_type="random")
        layers = [DpeLayerConfig(i, ((kh, kw),), ((kh, kw),)) for i, kh, kw in self.override["layers"]]
        return PoolingConfig(pooling_type="static", layers=layers)


def adaptive(layers, experts=ONE_TWO_FOUR, **options):
    options.setdefault("use_special_token", True)
    return {"pooling_type": "adaptive", **options,
            "pooling_layers": [{"index": i, "kernel_size": experts, "stride": experts} for i in layers]}


def experts_chosen(*wanted):
    """Seed condition: the DPE decisions chose these experts (None: no expert chosen) in order."""
    return lambda decisions: [d.expert for d in decisions] == list(wanted)


def some_pooling(decisions):
    return any(d.expert not in (None, 0) and d.skipped is None for d in decisions)


CASES = [
    Case("adaptive_1_2_4", adaptive([0, 2]), want=experts_chosen(1, 2)),
    Case("adaptive_1_4_16", adaptive([0, 1, 2], three((1, 1), (2, 2), (4, 4))),
         want=lambda ds: [d.expert for d in ds][:2] == [1, 2]),
    Case("floor_grid_5x5", adaptive([0, 2]), grid=5, want=experts_chosen(2, None)),
    Case("skip_rules", {**adaptive([0, 1]), "pooling_layers": [
        {"index": 0, "kernel_size": three((1, 1), (6, 6))},
        {"index": 1, "kernel_size": three((1, 1), (2, 8))}]}, grid=5, want=experts_chosen(None, 1)),
    Case("pre_location", adaptive([1, 3], pooling_location="pre"), want=experts_chosen(2, 1)),
    Case("avg_pooling", adaptive([0, 2], pooling_function="avg"), want=experts_chosen(1, 2)),
    Case("conv_experts", adaptive([0, 2], pooling_function="conv"), top={"vision_feature_layer": 1},
         want=experts_chosen(2, 1)),
    Case("router_v2_prepooling", adaptive([0, 2], router_version="v2", prepooling=True),
         want=experts_chosen(1, None)),
    Case("last_token_router", adaptive([0, 2], use_special_token=False),
         prompt=(BOS, 5, 6, IMAGE_ID, 7, 8, 9, 10, 11), want=some_pooling),
    Case("two_router_tokens", adaptive([0, 2]), prompt=(BOS, ROUTER_ID, 5, IMAGE_ID, 7, 8, ROUTER_ID, 10),
         want=some_pooling),
    Case("text_only", adaptive([0, 2]), image=False, prompt=(BOS, 5, 6, 7, ROUTER_ID, 10)),
    Case("static_config", {"pooling_type": "static", "pooling_layers": [
        {"index": 0, "kernel_size": [1, 2], "stride": [1, 2]}, {"index": 2, "kernel_size": [2, 2]}]}),
    Case("static_on_plain", None, override={"type": "static", "layers": [[1, 2, 1], [2, 2, 2]]},
         text={"num_key_value_heads": 4}),
    Case("random_override", adaptive([0, 1, 2]), override={"type": "random", "seed": 5},
         want=lambda ds: len({d.expert for d in ds}) > 1),
    Case("none_override", adaptive([0, 2]), override={"type": "none"}),
    Case("plain_full_features_tied", None, top={"vision_feature_select_strategy": "full",
                                                 "tie_word_embeddings": True}),
    Case("hf5_layout", adaptive([0, 2]), layout="5.x", want=some_pooling),
    Case("bf16_weights", adaptive([0, 2]), dtype=torch.bfloat16, want=some_pooling),
    Case("f16_weights", adaptive([0, 2], pooling_function="avg"), dtype=torch.float16, want=some_pooling),
]


def randomise(model, config):
    """Default inits leave norms at 1/0, routers near-uniform and conv experts at exact averages: perturb them
    all so that a misread weight shows."""
    with torch.no_grad():
        model.decoder.embed_tokens.weight.normal_(0.0, 1.0)
        for name, parameter in model.named_parameters():
            if "norm" in name or "layrnorm" in name or "mlp1.0" in name:
                if name.endswith("weight"):
                    parameter.copy_(1.0 + 0.2 * torch.randn_like(parameter))
                else:
                    parameter.copy_(0.2 * torch.randn_like(parameter))
            elif ".experts." in name:
                area = parameter.shape[2] * parameter.shape[3]
                parameter.copy_((1.0 + 0.5 * torch.randn_like(parameter)) / area)
            elif "predictor" in name:
                parameter.mul_(40.0)


def splitmix64_experts(seed):
    """The Java side's random expert draws: java.util.SplittableRandom(seed).nextLong(), unsigned, mod E.
    torch's generator cannot be reproduced in Java, so the reference draws this way for the goldens."""
    state = seed & (2 ** 64 - 1)
    mask = 2 ** 64 - 1

    def draw(experts):
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return (z ^ (z >> 31)) % experts
    return draw


class RecordingPass(PoolingPass):
    """The reference's pooling pass, recording the sequence after each layer (and its post pooling)."""
    random_seed = None
    hidden_after = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        RecordingPass.hidden_after = {}
        self.draw = splitmix64_experts(RecordingPass.random_seed or 0)

    def after_layer(self, index, batch):
        batch = super().after_layer(index, batch)
        RecordingPass.hidden_after[index] = batch.hidden[0, :batch.lengths[0]].clone()
        return batch

    def _choose_expert(self, dpe, b, sample):
        if self.pooling.pooling_type == "random":
            return self.draw(dpe.num_experts), None
        return super()._choose_expert(dpe, b, sample)


model_module.PoolingPass = RecordingPass


def save_layout(model, folder, case):
    save_model(model, folder, dtype=case.dtype)
    if case.layout == "5.x":
        tensors, metadata = load_file(folder / "model.safetensors")
        renamed = {}
        for name, tensor in tensors.items():
            for new, old in RENAMED_PREFIXES:
                if name.startswith(old):
                    name = new + name[len(old):]
                    break
            renamed[name] = tensor
        save_file(renamed, folder / "model.safetensors", metadata)


def run(model, case, pixels):
    """Everything the Java side is compared against, or None if a decision has too small a margin."""
    ids = torch.tensor([case.prompt])
    RecordingPass.random_seed = case.override.get("seed") if case.override else None
    with torch.no_grad():
        caches = model.new_caches()
        output = model(ids, pixel_values=pixels[None] if case.image else None, caches=caches)
        trace = output.traces[0]
        for decision in trace.decisions:
            if decision.probs is not None and top_gap(decision.probs) < MIN_PROBABILITY_GAP:
                return None
        if case.want is not None and not case.want(trace.decisions):
            return None
        logits = output.logits[0, output.lengths[0] - 1]
        prefill_logits = logits.clone()
        tokens, decode_logits = [], []
        for step in range(NEW_TOKENS):
            if top_gap(logits) < MIN_LOGIT_GAP:
                return None
            tokens.append(int(logits.argmax()))
            if step + 1 < NEW_TOKENS:
                logits = model.decode_step(tokens[-1], caches)
                decode_logits.append(logits.clone())
        tensors = {"prefill_logits": prefill_logits, "decode_logits": torch.stack(decode_logits)}
        if case.image:
            vision = model.vision_tower.vision_model.hidden_state(pixels[None], model.config.vision_layers_used)
            if model.config.vision_feature_select_strategy == "default":
                vision = vision[:, 1:]
            tensors["pixel_values"] = pixels
            tensors["vision_features"] = vision[0]
            tensors["visual_tokens"] = model.image_features(pixels[None])[0][0]
        layers = sorted({d.layer for d in trace.decisions} | {model.config.text_config.num_hidden_layers - 1})
        for layer in layers:
            tensors[f"hidden_after_layer.{layer}"] = RecordingPass.hidden_after[layer]
    facts = {
        "input_ids": list(case.prompt),
        "router_token_id": ROUTER_ID,
        "pooling_override": case.override,
        "generated": tokens,
        "input_grid": grid_of(trace.input_grid),
        "layer_tokens": trace.layer_lengths,
        "layer_grids": [grid_of(g) for g in trace.layer_grids],
        "decisions": [{"layer": d.layer, "expert": d.expert, "kernel": None if d.kernel is None else list(d.kernel),
                       "probabilities": None if d.probs is None else d.probs.tolist(),
                       "grid_in": grid_of(d.grid_in), "grid_out": grid_of(d.grid_out),
                       "skipped": d.skipped is not None}
                      for d in trace.decisions],
        "hidden_layers": layers,
        "tolerances": TOLERANCES,
    }
    return tensors, facts


def top_gap(values):
    top = torch.topk(values.float(), 2).values
    return float(top[0] - top[1])


def grid_of(grid):
    return [0, 0] if grid is None else list(grid)


def make(case):
    folder = OUT / case.name
    config = case.config()
    for seed in SEEDS:
        torch.manual_seed(seed)
        model = LlavaForConditionalGeneration(config, router_token_id=ROUTER_ID).eval()
        randomise(model, config)
        pixels = torch.randn(3, 4 * case.grid, 4 * case.grid)
        shutil.rmtree(folder, ignore_errors=True)
        save_layout(model, folder, case)
        reloaded = load_model(folder, pooling=case.request_pooling(config), router_token_id=ROUTER_ID).eval()
        result = run(reloaded, case, pixels)
        if result is not None:
            tensors, facts = result
            facts["seed"] = seed
            save_file({name: t.float().contiguous() for name, t in tensors.items()}, folder / "goldens.safetensors",
                      metadata={"golden": json.dumps(facts)})
            size = sum(f.stat().st_size for f in folder.iterdir())
            print(f"{case.name}: seed {seed}, experts {[d['expert'] for d in facts['decisions']]}, "
                  f"tokens {facts['layer_tokens']}, {size // 1024} KiB")
            return size
    raise SystemExit(f"{case.name}: no seed in {SEEDS} gives clear margins and the wanted decisions")


def main():
    import warnings
    warnings.simplefilter("ignore")  # unused router weights under an override are expected
    OUT.mkdir(parents=True, exist_ok=True)
    total = sum(make(case) for case in CASES)
    print(f"total {total / 2 ** 20:.2f} MiB in {OUT}")


if __name__ == "__main__":
    main()
