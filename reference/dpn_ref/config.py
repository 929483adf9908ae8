"""The llava-hf config.json, with the DPN `pooling` section (DPN.md §3), as dataclasses.

Missing keys take the defaults of the transformers classes (CLIPVisionConfig, LlamaConfig, LlavaConfig), so a
terse llava-hf config reads as transformers reads it. Keys this reference does not model are kept in `extra`
and written back unchanged, except inside `pooling`, where an unknown key is warned about and dropped.
"""

import dataclasses
import json
import warnings
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

POOLING_TYPES = ("static", "adaptive", "random")
POOLING_FUNCTIONS = ("max", "avg", "conv")
POOLING_LOCATIONS = ("pre", "post")
ROUTER_VERSIONS = ("v1", "v2")
FEATURE_STRATEGIES = ("default", "full")


class ConfigError(ValueError):
    pass


def _read_fields(cls, data, where):
    """Splits `data` into the typed fields of dataclass `cls` and the remaining keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a JSON object")
    known = {}
    types = {f.name: f.type for f in dataclasses.fields(cls) if f.name != "extra"}
    for name, kind in types.items():
        if name not in data:
            continue
        value = data[name]
        if kind is float and _is_a(value, int):
            value = float(value)
        if kind in (int, float, str, bool) and not _is_a(value, kind):
            raise ConfigError(f"{where}.{name} must be {kind.__name__}, got {value!r}")
        known[name] = value
    extra = {k: v for k, v in data.items() if k not in types}
    return known, extra


def _is_a(value, kind):
    """isinstance, except that JSON true/false are not numbers."""
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def _write_fields(obj):
    data = dict(obj.extra)
    for f in dataclasses.fields(obj):
        if f.name != "extra":
            data[f.name] = getattr(obj, f.name)
    return data


@dataclass
class VisionConfig:
    """CLIP vision tower; defaults are transformers' CLIPVisionConfig."""
    hidden_size: int = 768
    intermediate_size: int = 3072
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    num_channels: int = 3
    image_size: int = 224
    patch_size: int = 32
    layer_norm_eps: float = 1e-5
    hidden_act: str = "quick_gelu"
    extra: dict = field(default_factory=dict)

    @staticmethod
    def clip_vit_large_336():
        """What LlavaConfig assumes when vision_config is absent: CLIP ViT-L/14 at 336 px."""
        return VisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                            num_attention_heads=16, image_size=336, patch_size=14)

    @property
    def grid_size(self):
        return self.image_size // self.patch_size

    @staticmethod
    def from_dict(data, where="vision_config"):
        known, extra = _read_fields(VisionConfig, data, where)
        config = VisionConfig(**known, extra=extra)
        _require_positive(config, where, "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "num_channels", "image_size", "patch_size")
        _require_divisible(where, "hidden_size", config.hidden_size, "num_attention_heads", config.num_attention_heads)
        if config.image_size % config.patch_size:
            raise ConfigError(f"{where}: image_size {config.image_size} is not a multiple of "
                              f"patch_size {config.patch_size}")
        return config

    def to_dict(self):
        return _write_fields(self)


@dataclass
class TextConfig:
    """Llama decoder; defaults are transformers' LlamaConfig."""
    vocab_size: int = 32000
    hidden_size: int = 4096
    intermediate_size: int = 11008
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: Optional[int] = None
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position_embeddings: int = 2048
    hidden_act: str = "silu"
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads

    @staticmethod
    def from_dict(data, where="text_config"):
        known, extra = _read_fields(TextConfig, data, where)
        kv_heads = known.get("num_key_value_heads")
        if kv_heads is not None and not _is_a(kv_heads, int):
            raise ConfigError(f"{where}.num_key_value_heads must be int, got {kv_heads!r}")
        if extra.get("rope_scaling"):
            raise ConfigError(f"{where}.rope_scaling {extra['rope_scaling']!r} is not supported")
        config = TextConfig(**known, extra=extra)
        _require_positive(config, where, "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "num_key_value_heads")
        _require_divisible(where, "hidden_size", config.hidden_size, "num_attention_heads", config.num_attention_heads)
        _require_divisible(where, "num_attention_heads", config.num_attention_heads,
                           "num_key_value_heads", config.num_key_value_heads)
        if config.head_dim % 2:
            raise ConfigError(f"{where}: RoPE needs an even head dimension, got {config.head_dim}")
        return config

    def to_dict(self):
        return _write_fields(self)


def _require_positive(config, where, *names):
    for name in names:
        if getattr(config, name) <= 0:
            raise ConfigError(f"{where}.{name} must be positive, got {getattr(config, name)}")


def _require_divisible(where, name, value, by_name, by_value):
    if value % by_value:
        raise ConfigError(f"{where}: {name} {value} is not divisible by {by_name} {by_value}")


Pair = Tuple[int, int]


@dataclass(frozen=True)
class DpeLayerConfig:
    """One Dynamic Pooling Experts layer: the decoder layer it follows (or precedes) and its experts."""
    index: int
    kernel_sizes: Tuple[Pair, ...]
    strides: Tuple[Pair, ...]

    @property
    def num_experts(self):
        return len(self.kernel_sizes)


@dataclass
class PoolingConfig:
    """The top-level `pooling` section. Its absence means plain LLaVA (pooling type "none")."""
    pooling_type: str = "adaptive"
    layers: List[DpeLayerConfig] = field(default_factory=list)
    pooling_function: str = "max"
    pooling_location: str = "post"
    router_version: str = "v1"
    use_special_token: bool = False
    prepooling: bool = False
    detach_cls_token_to_predict: bool = False

    _SCALARS = ("pooling_type", "pooling_function", "pooling_location", "router_version", "use_special_token",
                "prepooling", "detach_cls_token_to_predict")

    def layer(self, index):
        """The DPE layer at decoder layer `index`, or None."""
        return next((layer for layer in self.layers if layer.index == index), None)

    def as_static(self, kernels):
        """The same DPE layers with one fixed kernel each (stride = kernel): a training-free pyramid."""
        if len(kernels) != len(self.layers):
            raise ConfigError(f"static pooling needs one kernel per DPE layer ({len(self.layers)}), "
                              f"got {len(kernels)}")
        layers = [DpeLayerConfig(layer.index, (tuple(k),), (tuple(k),)) for layer, k in zip(self.layers, kernels)]
        static = dataclasses.replace(self, pooling_type="static", layers=layers)
        static.validate()
        return static

    @staticmethod
    def from_dict(data, where="pooling"):
        if not isinstance(data, dict):
            raise ConfigError(f"{where} must be a JSON object")
        known = {}
        for name in PoolingConfig._SCALARS:
            if name in data:
                known[name] = data[name]
        for name in sorted(set(data) - set(PoolingConfig._SCALARS) - {"pooling_layers"}):
            warnings.warn(f"{where}: unknown key '{name}' ignored")
        pooling_type = known.get("pooling_type", PoolingConfig.pooling_type)
        layers = [_read_dpe_layer(entry, pooling_type, f"{where}.pooling_layers[{n}]")
                  for n, entry in enumerate(data.get("pooling_layers", []))]
        config = PoolingConfig(**known, layers=layers)
        config.validate(where)
        return config

    def validate(self, where="pooling"):
        for name, allowed in (("pooling_type", POOLING_TYPES), ("pooling_function", POOLING_FUNCTIONS),
                              ("pooling_location", POOLING_LOCATIONS), ("router_version", ROUTER_VERSIONS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{where}.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("use_special_token", "prepooling", "detach_cls_token_to_predict"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{where}.{name} must be true or false, got {getattr(self, name)!r}")
        if self.pooling_type == "static" and self.pooling_function == "conv":
            raise ConfigError(f"{where}: static pooling uses max or avg; conv experts need a router to choose them")
        indices = [layer.index for layer in self.layers]
        if len(set(indices)) != len(indices):
            raise ConfigError(f"{where}.pooling_layers: duplicate layer index in {indices}")

    def to_dict(self):
        data = {name: getattr(self, name) for name in self._SCALARS}
        static = self.pooling_type == "static"
        data["pooling_layers"] = [
            {"index": layer.index,
             "kernel_size": list(layer.kernel_sizes[0]) if static else [list(k) for k in layer.kernel_sizes],
             "stride": list(layer.strides[0]) if static else [list(s) for s in layer.strides]}
            for layer in self.layers]
        return data


def _read_dpe_layer(entry, pooling_type, where):
    if not isinstance(entry, dict) or "index" not in entry or "kernel_size" not in entry:
        raise ConfigError(f"{where} must be an object with 'index' and 'kernel_size'")
    index = entry["index"]
    if not _is_a(index, int) or index < 0:
        raise ConfigError(f"{where}.index must be a non-negative integer, got {index!r}")
    kernels = _read_pairs(entry["kernel_size"], pooling_type, f"{where}.kernel_size")
    strides = _read_pairs(entry.get("stride", entry["kernel_size"]), pooling_type, f"{where}.stride")
    if len(kernels) != len(strides):
        raise ConfigError(f"{where}: {len(kernels)} kernel sizes but {len(strides)} strides")
    return DpeLayerConfig(index, kernels, strides)


def _read_pairs(value, pooling_type, where):
    """Static layers hold one [kh, kw] pair; adaptive and random layers a list of pairs, one per expert."""
    def is_pair(v):
        return (isinstance(v, list) and len(v) == 2
                and all(_is_a(n, int) and n > 0 for n in v))

    if pooling_type == "static" and is_pair(value):
        return (tuple(value),)
    if isinstance(value, list) and value and all(is_pair(v) for v in value):
        if pooling_type == "static" and len(value) != 1:
            raise ConfigError(f"{where}: static pooling takes a single [kh, kw] pair, got {value}")
        return tuple(tuple(v) for v in value)
    expected = "a [kh, kw] pair" if pooling_type == "static" else "a list of [kh, kw] pairs, one per expert"
    raise ConfigError(f"{where} must be {expected} of positive integers, got {value!r}")


@dataclass
class LlavaConfig:
    vision_config: VisionConfig = field(default_factory=VisionConfig.clip_vit_large_336)
    text_config: TextConfig = field(default_factory=TextConfig)
    image_token_index: int = 32000
    vision_feature_layer: int = -2
    vision_feature_select_strategy: str = "default"
    projector_hidden_act: str = "gelu"
    tie_word_embeddings: bool = False
    pooling: Optional[PoolingConfig] = None
    extra: dict = field(default_factory=dict)

    @property
    def vision_layers_used(self):
        """How many CLIP layers run: hidden state k (0 = after pre_layrnorm) needs k layers."""
        count = self.vision_config.num_hidden_layers
        layer = self.vision_feature_layer
        return layer if layer >= 0 else count + 1 + layer

    @staticmethod
    def from_dict(data, where="config.json"):
        if not isinstance(data, dict):
            raise ConfigError(f"{where} must be a JSON object")
        body = {k: v for k, v in data.items() if k not in ("vision_config", "text_config", "pooling")}
        known, extra = _read_fields(LlavaConfig, body, where)
        text_data = data.get("text_config", {})
        if "tie_word_embeddings" not in known and isinstance(text_data, dict) and "tie_word_embeddings" in text_data:
            known["tie_word_embeddings"] = bool(text_data["tie_word_embeddings"])
        pooling = data.get("pooling")
        if isinstance(pooling, dict) and pooling.get("pooling_type") == "none":
            pooling = None  # the same as no section: plain LLaVA
        if isinstance(data.get("vision_feature_layer"), list):
            raise ConfigError(f"{where}.vision_feature_layer: lists of feature layers are not supported")
        config = LlavaConfig(
            vision_config=(VisionConfig.from_dict(data["vision_config"], f"{where}.vision_config")
                           if "vision_config" in data else VisionConfig.clip_vit_large_336()),
            text_config=TextConfig.from_dict(text_data, f"{where}.text_config"),
            pooling=PoolingConfig.from_dict(pooling, f"{where}.pooling") if pooling else None,
            **known, extra=extra)
        config.validate(where)
        return config

    def validate(self, where="config.json"):
        if self.vision_feature_select_strategy not in FEATURE_STRATEGIES:
            raise ConfigError(f"{where}.vision_feature_select_strategy must be one of {FEATURE_STRATEGIES}, "
                              f"got {self.vision_feature_select_strategy!r}")
        if not 0 <= self.vision_layers_used <= self.vision_config.num_hidden_layers:
            raise ConfigError(f"{where}.vision_feature_layer {self.vision_feature_layer} is outside the "
                              f"{self.vision_config.num_hidden_layers}-layer vision tower")
        if self.pooling is None:
            return
        self.pooling.validate(f"{where}.pooling")
        for layer in self.pooling.layers:
            if layer.index >= self.text_config.num_hidden_layers:
                raise ConfigError(f"{where}.pooling: layer index {layer.index} is outside the "
                                  f"{self.text_config.num_hidden_layers}-layer decoder")
        if self.vision_feature_select_strategy == "full":
            raise ConfigError(f"{where}: pooling needs a grid of patch tokens; "
                              "vision_feature_select_strategy 'full' keeps the class token")

    def to_dict(self):
        data = _write_fields(self)
        data["vision_config"] = self.vision_config.to_dict()
        data["text_config"] = self.text_config.to_dict()
        if self.pooling is None:
            del data["pooling"]
        else:
            data["pooling"] = self.pooling.to_dict()
        return data

    @staticmethod
    def load(path):
        try:
            with open(path, encoding="utf-8") as file:
                data = json.load(file)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}: not valid JSON ({error})") from None
        return LlavaConfig.from_dict(data, str(path))

    def save(self, path):
        with open(path, "w", encoding="utf-8") as file:
            json.dump(self.to_dict(), file, indent=2)
            file.write("\n")
