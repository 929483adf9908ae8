"""Generation with a KV cache, and per-request statistics of the pyramid."""

from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch

from .flops import llm_prefill_flops, vision_flops

EOS_TOKEN_ID = 2


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0   # 0: greedy
    top_k: int = 0             # 0: no limit
    top_p: float = 1.0         # 1: no limit
    seed: int = 0


def next_token(logits, sampling, generator):
    """Greedy, or temperature → top-k → top-p → a draw from `generator`, in transformers' order."""
    if sampling.temperature <= 0:
        return int(logits.argmax())
    scores = logits.float() / sampling.temperature
    if sampling.top_k > 0:
        kth_best = torch.topk(scores, min(sampling.top_k, scores.numel())).values[-1]
        scores = scores.masked_fill(scores < kth_best, float("-inf"))
    if sampling.top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=True)
        sorted_probs = torch.softmax(sorted_scores, dim=-1)
        # Keep the smallest head of the ranking whose mass reaches top_p: drop a token once the mass
        # before it already does (the first token always stays).
        mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
        drop = torch.empty_like(mass_before, dtype=torch.bool)
        drop[order] = mass_before >= sampling.top_p
        scores = scores.masked_fill(drop, float("-inf"))
    return int(torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=generator))


@dataclass
class DpeStats:
    layer: int
    expert: Optional[int]
    kernel: Optional[Tuple[int, int]]
    probs: Optional[List[float]]
    grid_in: Optional[Tuple[int, int]]
    grid_out: Optional[Tuple[int, int]]
    skipped: Optional[str]


@dataclass
class Stage:
    """Consecutive decoder layers that saw the same sequence."""
    first_layer: int
    last_layer: int
    tokens: int
    grid: Optional[Tuple[int, int]]

    @property
    def visual_tokens(self):
        return 0 if self.grid is None else self.grid[0] * self.grid[1]


@dataclass
class RequestStats:
    dpe: List[DpeStats]
    stages: List[Stage]
    prefill_flops: int
    prefill_flops_unpooled: int
    vision_flops: int

    @property
    def prefill_flops_ratio(self):
        return self.prefill_flops / self.prefill_flops_unpooled


def request_stats(config, trace, images):
    """Statistics of one sample's prefill (a pooling.SampleTrace) that used `images` images."""
    dpe = [DpeStats(d.layer, d.expert, d.kernel, None if d.probs is None else d.probs.detach().tolist(),
                    d.grid_in, d.grid_out, d.skipped) for d in trace.decisions]
    stages = []
    for layer, (tokens, grid) in enumerate(zip(trace.layer_lengths, trace.layer_grids)):
        if stages and (stages[-1].tokens, stages[-1].grid) == (tokens, grid):
            stages[-1].last_layer = layer
        else:
            stages.append(Stage(layer, layer, tokens, grid))
    text = config.text_config
    visual_tokens = 0 if trace.input_grid is None else trace.input_grid[0] * trace.input_grid[1]
    return RequestStats(
        dpe=dpe,
        stages=stages,
        prefill_flops=llm_prefill_flops(trace.layer_lengths, text),
        prefill_flops_unpooled=llm_prefill_flops([trace.input_length] * text.num_hidden_layers, text),
        vision_flops=images * vision_flops(config, visual_tokens))


@dataclass
class Generation:
    tokens: List[int]          # without the end-of-sequence token
    stopped_at_eos: bool
    stats: RequestStats


def generate(model, input_ids, pixel_values=None, max_new_tokens=64, sampling=Sampling(),
             eos_token_id=EOS_TOKEN_ID):
    """Prefill one prompt (ids with at most one image placeholder), then decode token by token.

    The pooling decisions are made once, at prefill; decoding reuses each layer's own cache.
    """
    ids = torch.as_tensor(input_ids, dtype=torch.long).reshape(1, -1)
    generator = torch.Generator().manual_seed(sampling.seed)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            caches = model.new_caches()
            prefill = model(ids, pixel_values=pixel_values, caches=caches, generator=generator)
            logits = prefill.logits[0, prefill.lengths[0] - 1]
            tokens = []
            stopped = False
            for step in range(max_new_tokens):
                token = next_token(logits, sampling, generator)
                if token == eos_token_id:
                    stopped = True
                    break
                tokens.append(token)
                if step + 1 < max_new_tokens:
                    logits = model.decode_step(token, caches)
    finally:
        model.train(was_training)
    images = 0 if pixel_values is None else pixel_values.shape[0]
    return Generation(tokens, stopped, request_stats(model.config, prefill.traces[0], images))
