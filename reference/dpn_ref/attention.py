"""Scaled dot-product attention, written out (torch 1.13 has no fused version)."""

import torch


def attend(queries, keys, values, allowed=None):
    """softmax(q·kᵀ/√d) v over (batch, heads, tokens, head_dim); `allowed` (batch, 1, q, k) masks keys out.

    Scores and softmax are computed in f32, as transformers does for Llama.
    """
    scale = queries.shape[-1] ** -0.5
    scores = torch.matmul(queries.float(), keys.float().transpose(-1, -2)) * scale
    if allowed is not None:
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1).to(values.dtype)
    return torch.matmul(weights, values)
