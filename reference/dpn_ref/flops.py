"""FLOP counts for reports (DPN.md §5); a multiply-add counts as 2 FLOPs."""


def decoder_layer_flops(tokens, hidden, mlp):
    """q,k,v,o projections; attention scores and weighted sum; gate/up/down projections."""
    n, d, m = tokens, hidden, mlp
    return 8 * n * d * d + 4 * n * n * d + 6 * n * d * m


def llm_prefill_flops(layer_lengths, text_config):
    """The decoder layers' prefill FLOPs, given how many tokens each layer saw."""
    return sum(decoder_layer_flops(n, text_config.hidden_size, text_config.intermediate_size)
               for n in layer_lengths)


def vision_flops(config, visual_tokens):
    """One image through the CLIP layers that run and the projector (which sees `visual_tokens` tokens)."""
    vision = config.vision_config
    patches = vision.grid_size ** 2
    n, d, m = patches + 1, vision.hidden_size, vision.intermediate_size
    patch_embedding = 2 * patches * vision.num_channels * vision.patch_size ** 2 * d
    encoder_layer = 8 * n * d * d + 4 * n * n * d + 4 * n * d * m
    text = config.text_config.hidden_size
    projector = 2 * visual_tokens * (d * text + text * text)
    return patch_embedding + config.vision_layers_used * encoder_layer + projector
