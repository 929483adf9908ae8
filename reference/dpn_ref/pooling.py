"""Dynamic Pooling Experts (DPN.md §3): routers, experts, pooling of the visual span, the routing loss."""

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .sequence import SequenceBatch

MIN_SPAN_TOKENS = 16              # a shorter visual span is left alone
MIN_TRAINING_TOKENS = 18          # training re-samples an expert that would leave fewer visual tokens
ROUTER_TEMPERATURE = 10.0         # p = softmax(logits / 10)
ROUTING_TARGET = 1.5              # L_l = max(0, 1.5 - mean(s[a]·p[a]))
ROUTING_LOSS_WEIGHT = 0.001       # loss = CE + 0.001 · mean_l L_l


class PoolingRouter(nn.Module):
    """v1: LayerNorm → Linear(d, d/4) → GELU → Linear(d/4, E); v2: Linear(d, E). No biases in the linears.

    Module names follow the authors' checkpoints: `mlp1.0` (LayerNorm), `mlp1.1`, `predictor`.
    """

    def __init__(self, hidden_size, num_experts, version):
        super().__init__()
        if version == "v1":
            self.mlp1 = nn.Sequential(nn.LayerNorm(hidden_size), nn.Linear(hidden_size, hidden_size // 4, bias=False),
                                      nn.GELU())
            self.predictor = nn.Linear(hidden_size // 4, num_experts, bias=False)
        else:
            self.mlp1 = nn.Identity()
            self.predictor = nn.Linear(hidden_size, num_experts, bias=False)

    def forward(self, x):
        """Expert probabilities for one router input of shape (d,)."""
        return torch.softmax(self.predictor(self.mlp1(x)) / ROUTER_TEMPERATURE, dim=-1)


def conv_experts(hidden_size, dpe):
    """Depthwise convolutions, one per expert, initialised to 1/(kh·kw): a learnable average pooling."""
    experts = nn.Sequential()
    for number, (kernel, stride) in enumerate(zip(dpe.kernel_sizes, dpe.strides)):
        conv = nn.Conv2d(hidden_size, hidden_size, kernel_size=kernel, stride=stride, groups=hidden_size, bias=False)
        nn.init.constant_(conv.weight, 1.0 / (kernel[0] * kernel[1]))
        experts.add_module(str(number), conv)
    return experts


def attach_dpe_modules(decoder_layers, pooling, hidden_size):
    """Gives each DPE decoder layer its router (adaptive) and conv experts (conv), so they save under its name."""
    for dpe in pooling.layers:
        layer = decoder_layers[dpe.index]
        if pooling.pooling_type == "adaptive":
            layer.pooling_router = PoolingRouter(hidden_size, dpe.num_experts, pooling.router_version)
        if pooling.pooling_function == "conv":
            layer.experts = conv_experts(hidden_size, dpe)


def pool_span(tokens, grid, kernel, stride, function, conv=None):
    """2D-pools visual tokens (n, d) laid out row-major on grid (h, w); floor division, no padding.

    Returns the pooled tokens, again row-major, and their grid.
    """
    height, width = grid
    image = tokens.reshape(height, width, -1).permute(2, 0, 1)[None]
    if function == "conv":
        pooled = conv(image)
    elif function == "max":
        pooled = F.max_pool2d(image, kernel, stride)
    else:
        pooled = F.avg_pool2d(image, kernel, stride)
    _, size, height, width = pooled.shape
    return pooled[0].permute(1, 2, 0).reshape(height * width, size), (height, width)


@dataclass
class PoolingDecision:
    """What one DPE layer did to one sample. `probs` keeps its graph: the routing loss is built from it."""
    layer: int
    grid_in: Optional[Tuple[int, int]]
    grid_out: Optional[Tuple[int, int]]
    expert: Optional[int] = None
    kernel: Optional[Tuple[int, int]] = None
    probs: Optional[torch.Tensor] = None
    skipped: Optional[str] = None


@dataclass
class SampleTrace:
    """One sample's prefill: its DPE decisions and the tokens (and visual grid) each decoder layer saw."""
    input_length: int
    input_grid: Optional[Tuple[int, int]]
    decisions: List[PoolingDecision] = field(default_factory=list)
    layer_lengths: List[int] = field(default_factory=list)
    layer_grids: List[Optional[Tuple[int, int]]] = field(default_factory=list)


class PoolingPass:
    """Applies the DPE layers of one prefill around the decoder layers and records what happened.

    `training` selects sampling (else argmax) for adaptive routing; `generator` drives that sampling and the
    random pooling type.
    """

    def __init__(self, pooling, decoder_layers, batch, training=False, generator=None):
        self.pooling = pooling
        self.decoder_layers = decoder_layers
        self.training = training
        self.generator = generator
        self.traces = [SampleTrace(length, None if span is None else (span.height, span.width))
                       for length, span in zip(batch.lengths, batch.spans)]

    def before_layer(self, index, batch):
        if self.pooling is not None and self.pooling.pooling_location == "pre":
            batch = self._apply(index, batch)
        for trace, length, span in zip(self.traces, batch.lengths, batch.spans):
            trace.layer_lengths.append(length)
            trace.layer_grids.append(None if span is None else (span.height, span.width))
        return batch

    def after_layer(self, index, batch):
        if self.pooling is not None and self.pooling.pooling_location == "post":
            batch = self._apply(index, batch)
        return batch

    def _apply(self, index, batch):
        dpe = self.pooling.layer(index)
        if dpe is None:
            return batch
        samples = []
        for b in range(batch.size):
            sample, decision = self._pool_sample(dpe, b, batch.sample(b))
            samples.append(sample)
            self.traces[b].decisions.append(decision)
        return SequenceBatch.of(samples)

    def _pool_sample(self, dpe, b, sample):
        span = sample.span
        if span is None:
            return sample, PoolingDecision(dpe.index, None, None, skipped="no visual tokens")
        grid = (span.height, span.width)
        count = span.length
        largest_kernel = max(kh * kw for kh, kw in dpe.kernel_sizes)
        if count < MIN_SPAN_TOKENS:
            return sample, PoolingDecision(dpe.index, grid, grid, skipped=f"{count} visual tokens < {MIN_SPAN_TOKENS}")
        if count < largest_kernel:
            return sample, PoolingDecision(dpe.index, grid, grid,
                                           skipped=f"{count} visual tokens < largest kernel area {largest_kernel}")

        expert, probs = self._choose_expert(dpe, b, sample)
        kernel, stride = dpe.kernel_sizes[expert], dpe.strides[expert]
        decision = PoolingDecision(dpe.index, grid, grid, expert, kernel, probs)
        if kernel[0] > grid[0] or kernel[1] > grid[1]:
            decision.skipped = f"kernel {kernel} does not fit grid {grid}"
            return sample, decision

        conv = None
        if self.pooling.pooling_function == "conv":
            conv = self.decoder_layers[dpe.index].experts[expert]
        tokens = sample.hidden[span.start:span.end]
        pooled, decision.grid_out = pool_span(tokens, grid, kernel, stride, self.pooling.pooling_function, conv)
        if probs is not None:
            # Scaling by the chosen expert's probability is what lets the CE loss train the router.
            pooled = pooled * probs[expert].to(pooled.dtype)
        return sample.with_span(pooled, *decision.grid_out), decision

    def _choose_expert(self, dpe, b, sample):
        """(expert, router probabilities or None)."""
        kind = self.pooling.pooling_type
        if kind == "static":
            return 0, None
        if kind == "random":
            return int(torch.randint(dpe.num_experts, (1,), generator=self.generator)), None

        if not sample.router_mask.any():
            raise ValueError(f"sample {b}: no router input for DPE layer {dpe.index}: the prompt has no <ROUTER> "
                             "token, though the pooling config sets use_special_token")
        router_input = sample.hidden[sample.router_mask].mean(dim=0)
        if self.training and self.pooling.detach_cls_token_to_predict:
            router_input = router_input.detach()
        probs = self.decoder_layers[dpe.index].pooling_router(router_input)
        if not self.training:
            return int(probs.argmax()), probs
        return self._sample_expert(dpe, probs, sample.span.length), probs

    def _sample_expert(self, dpe, probs, count):
        """Samples from p among the experts that leave at least MIN_TRAINING_TOKENS visual tokens.

        The authors re-sample until such an expert comes up, which is the same distribution; when none
        qualifies (and re-sampling would never end) the mildest expert is taken.
        """
        remaining = torch.tensor([count // (sh * sw) for sh, sw in dpe.strides])
        allowed = remaining >= MIN_TRAINING_TOKENS
        if not allowed.any():
            return int(remaining.argmax())
        weights = probs.detach().float() * allowed
        return int(torch.multinomial(weights, 1, generator=self.generator))


def routing_loss(traces):
    """mean over DPE layers of max(0, 1.5 − mean over the batch of s[a]·p[a]), a = argmax p, s[j] = j.

    Experts are listed from mildest to strongest (×1, ×2, ×4), so the scale s of expert j is j. Layers
    where no router ran (all samples skipped) do not count; None when no router ran at all.
    """
    probs_by_layer = {}
    for trace in traces:
        for decision in trace.decisions:
            if decision.probs is not None:
                probs_by_layer.setdefault(decision.layer, []).append(decision.probs)
    if not probs_by_layer:
        return None
    losses = []
    for layer in sorted(probs_by_layer):
        probs = torch.stack(probs_by_layer[layer])
        top = probs.argmax(dim=-1)
        achieved = (top.to(probs.dtype) * probs.gather(1, top[:, None]).squeeze(1)).mean()
        losses.append(torch.clamp(ROUTING_TARGET - achieved, min=0.0))
    return torch.stack(losses).mean()
