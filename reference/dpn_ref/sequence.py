"""The token sequences flowing through the decoder, whose visual spans shrink at DPE layers.

Each sample is [text before the image][visual span, an h×w grid flattened row-major][text after]. Pooling
shortens the span, so samples of one batch can have different lengths: the batch is right-padded, and each
sample's positions restart at 0..length-1 after every change (DPN.md §3).
"""

from dataclasses import dataclass, replace
from typing import List, Optional

import torch

IGNORE_LABEL = -100


@dataclass(frozen=True)
class VisualSpan:
    start: int
    height: int
    width: int

    @property
    def length(self):
        return self.height * self.width

    @property
    def end(self):
        return self.start + self.length


@dataclass
class Sample:
    """One unpadded sequence. `router_mask` marks the positions the routers read; `labels` may be None."""
    hidden: torch.Tensor
    router_mask: torch.Tensor
    labels: Optional[torch.Tensor]
    span: Optional[VisualSpan]

    def with_span(self, tokens, height, width):
        """This sample with its visual span replaced by `tokens`, an h×w grid flattened row-major."""
        span = self.span
        keep_before = slice(0, span.start)
        keep_after = slice(span.end, None)
        count = tokens.shape[0]
        no_router = torch.zeros(count, dtype=torch.bool)
        labels = None
        if self.labels is not None:
            labels = torch.cat([self.labels[keep_before], torch.full((count,), IGNORE_LABEL, dtype=torch.long),
                                self.labels[keep_after]])
        return Sample(
            hidden=torch.cat([self.hidden[keep_before], tokens, self.hidden[keep_after]]),
            router_mask=torch.cat([self.router_mask[keep_before], no_router, self.router_mask[keep_after]]),
            labels=labels,
            span=VisualSpan(span.start, height, width))


@dataclass
class SequenceBatch:
    """Right-padded samples: hidden (B, T, d), router_mask (B, T), labels (B, T) or None."""
    hidden: torch.Tensor
    lengths: List[int]
    router_mask: torch.Tensor
    labels: Optional[torch.Tensor]
    spans: List[Optional[VisualSpan]]

    @staticmethod
    def of(samples):
        width = max(s.hidden.shape[0] for s in samples)

        def pad(t, value):
            fill = t.new_full((width - t.shape[0],) + tuple(t.shape[1:]), value)
            return torch.cat([t, fill])

        has_labels = samples[0].labels is not None
        return SequenceBatch(
            hidden=torch.stack([pad(s.hidden, 0.0) for s in samples]),
            lengths=[s.hidden.shape[0] for s in samples],
            router_mask=torch.stack([pad(s.router_mask, False) for s in samples]),
            labels=torch.stack([pad(s.labels, IGNORE_LABEL) for s in samples]) if has_labels else None,
            spans=[s.span for s in samples])

    @property
    def size(self):
        return len(self.lengths)

    def sample(self, b):
        n = self.lengths[b]
        return Sample(hidden=self.hidden[b, :n], router_mask=self.router_mask[b, :n],
                      labels=None if self.labels is None else self.labels[b, :n], span=self.spans[b])

    def with_hidden(self, hidden):
        return replace(self, hidden=hidden)

    def positions(self):
        """Each sample's own positions 0..length-1 (padding continues the count and is never attended)."""
        return torch.arange(self.hidden.shape[1]).expand(self.size, -1)

    def causal_mask(self):
        """allowed[b, 0, q, k]: key k is at or before query q and inside sample b."""
        width = self.hidden.shape[1]
        index = torch.arange(width)
        causal = index[None, :] <= index[:, None]
        inside = index[None, :] < torch.tensor(self.lengths)[:, None]
        return (causal[None] & inside[:, None, :])[:, None]
