"""Tiny random models for the tests: an 8×8 patch grid, a 6-layer decoder, widths of 32."""

import torch

from dpn_ref.config import DpeLayerConfig, LlavaConfig, PoolingConfig, TextConfig, VisionConfig
from dpn_ref.model import LlavaForConditionalGeneration

VOCAB = 64
IMAGE_ID = 63
ROUTER_ID = 62
BOS, EOS = 1, 2
THREE_EXPERTS = ((1, 1), (1, 2), (2, 2))


def tiny_config(pooling=None, grid=8, tie=False):
    return LlavaConfig(
        vision_config=VisionConfig(hidden_size=24, intermediate_size=48, num_hidden_layers=3, num_attention_heads=2,
                                   image_size=4 * grid, patch_size=4),
        text_config=TextConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=6,
                               num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5),
        image_token_index=IMAGE_ID,
        tie_word_embeddings=tie,
        pooling=pooling)


def pooling(kind="adaptive", indices=(1, 3), experts=THREE_EXPERTS, **options):
    if kind == "static":
        layers = [DpeLayerConfig(i, (k,), (k,)) for i, k in zip(indices, experts)]
    else:
        layers = [DpeLayerConfig(i, tuple(experts), tuple(experts)) for i in indices]
    options.setdefault("use_special_token", kind == "adaptive")
    return PoolingConfig(pooling_type=kind, layers=layers, **options)


def tiny_model(config, seed=0):
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config, router_token_id=ROUTER_ID).eval()
    # Default inits leave hidden states small; a wider embedding spread makes the tests' differences visible.
    with torch.no_grad():
        model.decoder.embed_tokens.weight.normal_(0.0, 1.0)
    return model


def pixels(images=1, grid=8, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(images, 3, 4 * grid, 4 * grid, generator=generator)


def prompt(router=True, before=(5, 6), after=(7, 8, 9)):
    """BOS, text, the image placeholder, text, and optionally <ROUTER>, then two more text tokens."""
    return [BOS, *before, IMAGE_ID, *after] + ([ROUTER_ID] if router else []) + [10, 11]


def prefer_expert(router, expert, margin=30.0):
    """Makes a v1 router ignore its input and put logit `margin` on `expert` (p = softmax(logits / 10))."""
    with torch.no_grad():
        layer_norm, linear = router.mlp1[0], router.mlp1[1]
        layer_norm.weight.zero_()
        layer_norm.bias.fill_(1.0)
        linear.weight.fill_(1.0 / linear.weight.shape[1])
        feature = torch.nn.functional.gelu(torch.tensor(1.0))
        router.predictor.weight.zero_()
        router.predictor.weight[expert].fill_(margin / (feature * router.predictor.weight.shape[1]))
