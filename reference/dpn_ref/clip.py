"""The CLIP vision tower, with transformers' module names (`vision_model.embeddings.patch_embedding`, ...)."""

import torch
from torch import nn

from .activations import activation
from .attention import attend


class ClipEmbeddings(nn.Module):
    """Patches by a stride-p convolution (no bias), a learned class token in front, learned positions added."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.patch_embedding = nn.Conv2d(config.num_channels, config.hidden_size, kernel_size=config.patch_size,
                                         stride=config.patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(config.hidden_size))
        self.position_embedding = nn.Embedding(config.grid_size ** 2 + 1, config.hidden_size)

    def forward(self, pixels):
        expected = (self.config.num_channels, self.config.image_size, self.config.image_size)
        if pixels.dim() != 4 or tuple(pixels.shape[1:]) != expected:
            raise ValueError(f"pixel_values must have shape (images, {', '.join(map(str, expected))}), "
                             f"got {tuple(pixels.shape)}")
        patches = self.patch_embedding(pixels).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(pixels.shape[0], 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight


class ClipAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads = config.num_attention_heads
        size = config.hidden_size
        self.q_proj = nn.Linear(size, size)
        self.k_proj = nn.Linear(size, size)
        self.v_proj = nn.Linear(size, size)
        self.out_proj = nn.Linear(size, size)

    def forward(self, x):
        batch, tokens, size = x.shape

        def split_heads(t):
            return t.view(batch, tokens, self.heads, size // self.heads).transpose(1, 2)

        out = attend(split_heads(self.q_proj(x)), split_heads(self.k_proj(x)), split_heads(self.v_proj(x)))
        return self.out_proj(out.transpose(1, 2).reshape(batch, tokens, size))


class ClipMlp(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.act = activation(config.hidden_act, "vision_config.hidden_act")
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ClipEncoderLayer(nn.Module):
    """Pre-norm transformer layer."""

    def __init__(self, config):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.self_attn = ClipAttention(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = ClipMlp(config)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class ClipEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layers = nn.ModuleList(ClipEncoderLayer(config) for _ in range(config.num_hidden_layers))


class ClipVisionTransformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embeddings = ClipEmbeddings(config)
        self.pre_layrnorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.encoder = ClipEncoder(config)
        # Part of the checkpoint, unused by LLaVA, which reads an intermediate hidden state.
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def hidden_state(self, pixels, layers_used):
        """The hidden state after `layers_used` encoder layers (0: the pre_layrnorm output), class token first."""
        x = self.pre_layrnorm(self.embeddings(pixels))
        for layer in self.encoder.layers[:layers_used]:
            x = layer(x)
        return x


class ClipVisionModel(nn.Module):
    """Holds the transformer under `vision_model`, as transformers' CLIPVisionModel does."""

    def __init__(self, config):
        super().__init__()
        self.vision_model = ClipVisionTransformer(config)
