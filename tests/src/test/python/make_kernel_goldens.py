#!/usr/bin/env python3
"""Writes tests/src/test/resources/goldens/kernels.safetensors: inputs and torch (float64) outputs for every kernel.

Independent of dpn's Java code: torch computes each operation the way HF transformers / LLaVA do, in float64, and
the results are stored as F32. Deterministic (fixed seed); run with Debian's python3-torch:

    /usr/bin/python3 tests/src/test/python/make_kernel_goldens.py

Each case is a group of tensors named "<case>.<role>" plus a JSON entry in __metadata__ with its parameters.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "goldens", "kernels.safetensors")
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}

tensors = {}
params = {}


def put(case, role, t, dtype=torch.float32):
    tensors[f"{case}.{role}"] = t.detach().to(dtype).contiguous()


def rand(*shape, scale=1.0):
    return torch.randn(*shape, dtype=torch.float64) * scale


def matmul_cases():
    for dtype, name in [(torch.float32, "f32"), (torch.float16, "f16"), (torch.bfloat16, "bf16")]:
        for m, n, k in [(1, 13, 37), (7, 19, 45), (33, 21, 70)]:
            case = f"matmul_{name}_{m}x{n}x{k}"
            x, w, b = rand(m, k), rand(n, k, scale=0.2), rand(n)
            w = w.to(dtype).double()  # the weight as stored is what the kernel sees
            put(case, "x", x)
            put(case, "w", w, dtype)
            put(case, "bias", b)
            put(case, "y", F.linear(x, w, b))


def norm_cases():
    x = rand(5, 67, scale=3) + 1.5
    w, b = rand(67), rand(67)
    put("rmsnorm", "x", x)
    put("rmsnorm", "weight", w)
    put("rmsnorm", "out", x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w)
    params["rmsnorm"] = {"eps": 1e-5}
    put("layernorm", "x", x)
    put("layernorm", "weight", w)
    put("layernorm", "bias", b)
    put("layernorm", "out", F.layer_norm(x, (67,), w, b, eps=1e-5))
    params["layernorm"] = {"eps": 1e-5}


def pointwise_cases():
    x = torch.cat([rand(200, scale=3), torch.tensor([-30.0, -8.0, -1e-3, 0.0, 1e-3, 8.0, 30.0], dtype=torch.float64)])
    put("act", "x", x)
    put("act", "gelu", F.gelu(x))
    put("act", "gelu_tanh", F.gelu(x, approximate="tanh"))
    put("act", "quick_gelu", x * torch.sigmoid(1.702 * x))
    put("act", "silu", F.silu(x))
    up = rand(x.numel())
    put("act", "up", up)
    put("act", "silu_gate", F.silu(x) * up)

    s = rand(4, 37, scale=20)
    put("softmax", "x", s)
    put("softmax", "out", torch.softmax(s * 0.1, dim=-1))
    params["softmax"] = {"scale": 0.1}


def rope_case():
    heads, head_dim, theta = 3, 16, 10000.0
    positions = [0, 1, 5, 17, 600, 4095]
    x = rand(len(positions), heads * head_dim)
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    freqs = torch.tensor(positions, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
    xh = x.view(len(positions), heads, head_dim)
    rotated = torch.cat([-xh[..., head_dim // 2:], xh[..., : head_dim // 2]], dim=-1)
    put("rope", "x", x)
    put("rope", "out", (xh * cos + rotated * sin).reshape(len(positions), -1))
    params["rope"] = {"positions": positions, "head_dim": head_dim, "theta": theta}


def attention_cases():
    for causal in (True, False):
        case = "attention_causal" if causal else "attention_full"
        tokens, kv_len, capacity, heads, kv_heads, head_dim = 3, 7, 9, 4, 2, 8
        q = rand(tokens, heads * head_dim)
        k = rand(capacity, kv_heads * head_dim)
        v = rand(capacity, kv_heads * head_dim)
        scale = 1 / math.sqrt(head_dim)
        qh = q.view(tokens, heads, head_dim).transpose(0, 1)
        group = heads // kv_heads
        kh = k[:kv_len].view(kv_len, kv_heads, head_dim).transpose(0, 1).repeat_interleave(group, dim=0)
        vh = v[:kv_len].view(kv_len, kv_heads, head_dim).transpose(0, 1).repeat_interleave(group, dim=0)
        scores = qh @ kh.transpose(1, 2) * scale
        if causal:
            query_pos = torch.arange(kv_len - tokens, kv_len)[:, None]
            scores = scores.masked_fill(torch.arange(kv_len)[None, :] > query_pos, float("-inf"))
        out = (torch.softmax(scores, dim=-1) @ vh).transpose(0, 1).reshape(tokens, heads * head_dim)
        for role, t in [("q", q), ("k", k), ("v", v), ("out", out)]:
            put(case, role, t)
        params[case] = {"kv_length": kv_len, "heads": heads, "kv_heads": kv_heads, "causal": causal, "scale": scale}


def pooling_cases():
    h, w, d = 5, 7, 11
    x = rand(h * w, d)
    grid = x.view(h, w, d).permute(2, 0, 1)[None]  # NCHW, as the authors' code pools
    for kind, fn in [("max", F.max_pool2d), ("avg", F.avg_pool2d)]:
        for kh, kw in [(1, 2), (2, 2), (2, 3)]:
            case = f"pool_{kind}_{kh}x{kw}"
            out = fn(grid, kernel_size=(kh, kw), stride=(kh, kw))[0].permute(1, 2, 0).reshape(-1, d)
            put(case, "x", x)
            put(case, "out", out)
            params[case] = {"type": kind, "h": h, "w": w, "kh": kh, "kw": kw}


def patch_embed_case():
    pixels = rand(3, 28, 42)
    weight = rand(8, 3, 14, 14, scale=0.05).to(torch.float16).double()
    bias = rand(8)
    out = F.conv2d(pixels[None], weight, bias, stride=14)[0]  # [D, 2, 3]
    put("patch_embed", "pixels", pixels)
    put("patch_embed", "weight", weight, torch.float16)
    put("patch_embed", "bias", bias)
    put("patch_embed", "out", out.flatten(1).transpose(0, 1))


def embed_case():
    table = rand(11, 6).to(torch.bfloat16).double()
    ids = [3, 0, 10, 3]
    put("embed", "table", table, torch.bfloat16)
    put("embed", "out", table[ids])
    params["embed"] = {"ids": ids}


def write_safetensors(path, named, metadata):
    header, offset, blobs = {}, 0, []
    for name, t in named.items():
        data = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def main():
    torch.manual_seed(20250326)
    matmul_cases()
    norm_cases()
    pointwise_cases()
    rope_case()
    attention_cases()
    pooling_cases()
    patch_embed_case()
    embed_case()
    metadata = {"params": json.dumps(params, sort_keys=True), "generator": "make_kernel_goldens.py", "torch": torch.__version__}
    write_safetensors(os.path.normpath(OUT), dict(sorted(tensors.items())), metadata)
    print(f"wrote {len(tensors)} tensors to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
