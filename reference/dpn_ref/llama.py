"""The Llama decoder, with transformers' module names (`model.layers.N.self_attn.q_proj`, ...).

Positions are explicit: after a DPE layer shortens the sequence, the following layers number their own
tokens 0..length-1, and in decoding each layer's new token takes the position of that layer's cache length.
"""

import torch
from torch import nn

from .activations import activation
from .attention import attend


class RmsNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x):
        # Computed in f32 whatever the model dtype, as transformers does.
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.to(x.dtype)


class RotaryEmbedding(nn.Module):
    """RoPE in the "rotate_half" layout: dimensions i and i + head_dim/2 form a rotating pair."""

    def __init__(self, head_dim, theta):
        super().__init__()
        inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2).float() / head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, positions):
        """cos and sin of shape (batch, 1, tokens, head_dim) for positions of shape (batch, tokens)."""
        angles = positions.float()[..., None] * self.inv_freq
        angles = torch.cat([angles, angles], dim=-1)
        return angles.cos()[:, None], angles.sin()[:, None]


def rotate_half(x):
    first, second = x.chunk(2, dim=-1)
    return torch.cat([-second, first], dim=-1)


def apply_rope(x, cos, sin):
    return x * cos.to(x.dtype) + rotate_half(x) * sin.to(x.dtype)


class LayerKvCache:
    """Keys (after RoPE) and values of every token one decoder layer has seen; batch size 1."""

    def __init__(self):
        self.keys = None
        self.values = None

    @property
    def length(self):
        return 0 if self.keys is None else self.keys.shape[2]

    def extend(self, keys, values):
        """Appends this step's keys and values; returns all of them."""
        if self.keys is None:
            self.keys, self.values = keys, values
        else:
            self.keys = torch.cat([self.keys, keys], dim=2)
            self.values = torch.cat([self.values, values], dim=2)
        return self.keys, self.values


class LlamaAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.head_dim = config.head_dim
        size = config.hidden_size
        self.q_proj = nn.Linear(size, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(size, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(size, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, size, bias=False)

    def forward(self, x, cos, sin, allowed, cache):
        batch, tokens, _ = x.shape

        def split_heads(t, heads):
            return t.view(batch, tokens, heads, self.head_dim).transpose(1, 2)

        queries = apply_rope(split_heads(self.q_proj(x), self.heads), cos, sin)
        keys = apply_rope(split_heads(self.k_proj(x), self.kv_heads), cos, sin)
        values = split_heads(self.v_proj(x), self.kv_heads)
        if cache is not None:
            keys, values = cache.extend(keys, values)
        group = self.heads // self.kv_heads
        keys = keys.repeat_interleave(group, dim=1)
        values = values.repeat_interleave(group, dim=1)
        out = attend(queries, keys, values, allowed)
        return self.o_proj(out.transpose(1, 2).reshape(batch, tokens, -1))


class LlamaMlp(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, config):
        super().__init__()
        self.act = activation(config.hidden_act, "text_config.hidden_act")
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    """Pre-norm decoder layer. A DPE layer also holds `pooling_router` and, for conv experts, `experts`
    (attached by pooling.attach_dpe_modules, so they save under this layer's name)."""

    def __init__(self, config):
        super().__init__()
        self.input_layernorm = RmsNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = LlamaAttention(config)
        self.post_attention_layernorm = RmsNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = LlamaMlp(config)

    def forward(self, x, cos, sin, allowed, cache=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, allowed, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(LlamaDecoderLayer(config) for _ in range(config.num_hidden_layers))
        self.norm = RmsNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary = RotaryEmbedding(config.head_dim, config.rope_theta)

    def forward(self, batch, pooling_pass, caches=None):
        """Runs every layer over a SequenceBatch; `pooling_pass` may reshape it around each layer (see
        pooling.PoolingPass). With `caches` (batch size 1) each layer's keys and values are kept."""
        for index, layer in enumerate(self.layers):
            batch = pooling_pass.before_layer(index, batch)
            cos, sin = self.rotary(batch.positions())
            cache = caches[index] if caches is not None else None
            batch = batch.with_hidden(layer(batch.hidden, cos, sin, batch.causal_mask(), cache))
            batch = pooling_pass.after_layer(index, batch)
        return batch.with_hidden(self.norm(batch.hidden))

    def decode(self, hidden, caches):
        """One new token (hidden of shape (1, 1, d)); each layer places it at its own cache length."""
        for layer, cache in zip(self.layers, caches):
            cos, sin = self.rotary(torch.tensor([[cache.length]]))
            hidden = layer(hidden, cos, sin, None, cache)
        return self.norm(hidden)


class LlamaForCausalLM(nn.Module):
    def __init__(self, config, tie_word_embeddings):
        super().__init__()
        self.model = LlamaModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
