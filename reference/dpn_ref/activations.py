"""The activation functions the configs name, by their transformers names."""

import torch
import torch.nn.functional as F


def quick_gelu(x):
    """CLIP's sigmoid approximation of GELU."""
    return x * torch.sigmoid(1.702 * x)


ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x, approximate="none"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "quick_gelu": quick_gelu,
    "silu": F.silu,
    "relu": F.relu,
}


def activation(name, where):
    """The function for `name`; `where` names the config key in the error message."""
    if name not in ACTIVATIONS:
        raise ValueError(f"{where}: unsupported activation {name!r}; supported: {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]
