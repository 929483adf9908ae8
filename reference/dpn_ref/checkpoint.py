"""Model folders: config.json + model.safetensors (or model.safetensors.index.json + shards).

Reads the llava-hf layouts of transformers 4.x and 5.x (DPN.md §4) and writes the 4.x one.
"""

import json
import warnings
from pathlib import Path

import torch

from .config import LlavaConfig
from .model import LlavaForConditionalGeneration
from .safetensors_io import load_file, save_file

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"

# Buffers that older transformers versions saved; they are derived, never loaded.
DERIVED_SUFFIXES = (".position_ids", ".rotary_emb.inv_freq")
# transformers 5.x prefix -> 4.x prefix
RENAMED_PREFIXES = (
    ("model.vision_tower.", "vision_tower."),
    ("model.multi_modal_projector.", "multi_modal_projector."),
    ("model.language_model.", "language_model.model."),
    ("lm_head.", "language_model.lm_head."),
)
_KEEP = object()


class CheckpointError(ValueError):
    pass


def read_weights(folder):
    """All tensors of a model folder, by 4.x name."""
    folder = Path(folder)
    index_path = folder / INDEX_FILE
    if index_path.exists():
        with open(index_path, encoding="utf-8") as file:
            weight_map = json.load(file).get("weight_map")
        if not isinstance(weight_map, dict):
            raise CheckpointError(f"{index_path}: no 'weight_map' object")
        paths = sorted(set(weight_map.values()))
    elif (folder / WEIGHTS_FILE).exists():
        paths = [WEIGHTS_FILE]
    else:
        raise CheckpointError(f"{folder}: neither {WEIGHTS_FILE} nor {INDEX_FILE}")
    tensors = {}
    for path in paths:
        shard, _ = load_file(folder / path)
        for name, tensor in shard.items():
            if not name.endswith(DERIVED_SUFFIXES):
                tensors[_layout_4x(name)] = tensor
    return tensors


def _layout_4x(name):
    for new, old in RENAMED_PREFIXES:
        if name.startswith(new):
            return old + name[len(new):]
    return name


def _is_dpe_weight(name):
    return ".pooling_router." in name or ".experts." in name


def load_model(folder, pooling=_KEEP, router_token_id=None, dtype=torch.float32):
    """Builds and fills a model from a folder.

    pooling: replaces the config's pooling section (a PoolingConfig, or None for plain LLaVA), e.g.
        static pooling on a checkpoint without routers. Router and expert weights the chosen pooling does not
        use are ignored with a warning.
    """
    folder = Path(folder)
    config = LlavaConfig.load(folder / CONFIG_FILE)
    if pooling is not _KEEP:
        config.pooling = pooling
    model = LlavaForConditionalGeneration(config, router_token_id).to(dtype)
    state = model.state_dict()
    tensors = read_weights(folder)
    tied = config.tie_word_embeddings
    if tied:
        tensors.pop("language_model.lm_head.weight", None)
        state.pop("language_model.lm_head.weight")

    unexpected = sorted(set(tensors) - set(state))
    unused_dpe = [name for name in unexpected if _is_dpe_weight(name)]
    if unused_dpe:
        warnings.warn(f"{folder}: {len(unused_dpe)} router/expert tensors unused by the chosen pooling, "
                      f"e.g. {unused_dpe[0]}")
    unknown = [name for name in unexpected if not _is_dpe_weight(name)]
    if unknown:
        raise CheckpointError(f"{folder}: {len(unknown)} tensors the model does not have, e.g. {unknown[:3]}")
    missing = sorted(set(state) - set(tensors))
    if missing:
        hint = ""
        if any(_is_dpe_weight(name) for name in missing):
            hint = " (adaptive pooling and conv experts need trained weights; static pooling works without)"
        raise CheckpointError(f"{folder}: {len(missing)} tensors missing, e.g. {missing[:3]}{hint}")

    with torch.no_grad():
        for name, target in state.items():
            tensor = tensors[name]
            if tensor.shape != target.shape:
                raise CheckpointError(f"{folder}: tensor '{name}' has shape {tuple(tensor.shape)}, "
                                      f"the config implies {tuple(target.shape)}")
            target.copy_(tensor.to(target.dtype))
    return model


def save_model(model, folder, dtype=None):
    """Writes config.json and model.safetensors (in `dtype`, default the model's), llava-hf 4.x names."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    if model.config.tie_word_embeddings:
        del state["language_model.lm_head.weight"]
    if dtype is not None:
        state = {name: tensor.to(dtype) for name, tensor in state.items()}
    save_file(state, folder / WEIGHTS_FILE, metadata={"format": "pt"})
    model.config.save(folder / CONFIG_FILE)
