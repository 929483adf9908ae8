#!/usr/bin/python3
"""Converts a LLaVA-1.5 / DPN-LLaVA checkpoint in the authors' original layout into the llava-hf 4.x layout.

    reference/convert_original.py --llava DIR --clip DIR --out DIR [--dtype f16|bf16|f32]

The original layout (haotian-liu/LLaVA, aihao2000/DPN-LLaVA): a LlavaLlamaForCausalLM folder whose config.json
holds the Llama keys beside `mm_*` keys and the DPN `pooling` section; tensors `model.*`, `lm_head.*`,
`model.mm_projector.{0,2}.*` and the DPN routers and experts under `model.layers.{i}`, in PyTorch .bin or
safetensors files; a tokenizer without `<image>`. The CLIP tower comes from a separate
openai/clip-vit-large-patch14-336 folder. The output is what dpn and `dpn_ref.load_model` read (DPN.md §4).

It streams: at most one input file's tensors and the output shard being filled are in memory at a time.
"""

import argparse
import dataclasses
import inspect
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import torch

from dpn_ref.checkpoint import CONFIG_FILE, DERIVED_SUFFIXES, INDEX_FILE, WEIGHTS_FILE
from dpn_ref.config import ConfigError, LlavaConfig, TextConfig, VisionConfig
from dpn_ref.prompt import IMAGE_TOKEN, ROUTER_TOKEN
from dpn_ref.safetensors_io import SafetensorsError, load_file, save_file

DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}
TORCH_DTYPE_NAMES = {torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float32: "float32"}
# Peak memory is about the largest input file plus twice this (save_file holds a byte copy of the shard): a 7B
# model's 10 GB first .bin shard gives ~14 GB.
MAX_SHARD_BYTES = 2 * 1024 ** 3

ORIGINAL_ARCHITECTURE = "LlavaLlamaForCausalLM"
# Weight files of a model folder, in order of preference: an index naming shards, or one file.
WEIGHT_INDEXES = (INDEX_FILE, "pytorch_model.bin.index.json")
SINGLE_WEIGHT_FILES = (WEIGHTS_FILE, "pytorch_model.bin")
# torch >= 2.1 can map a .bin file instead of reading it; 1.13 reads it whole, which is why files go one at a time.
TORCH_LOAD_OPTIONS = {"map_location": "cpu", "weights_only": True}
if "mmap" in inspect.signature(torch.load).parameters:
    TORCH_LOAD_OPTIONS["mmap"] = True

# The Llama keys of the original config.json, which become text_config; the mm_* and training keys stay behind.
TEXT_KEYS = tuple(f.name for f in dataclasses.fields(TextConfig) if f.name != "extra") + (
    "rope_scaling", "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id", "pretraining_tp")
VISION_KEYS = tuple(f.name for f in dataclasses.fields(VisionConfig) if f.name != "extra")
FEATURE_STRATEGIES = {"patch": "default", "cls_patch": "full"}
# Original settings that have no llava-hf counterpart, with what they would ask for.
UNSUPPORTED_SETTINGS = {
    "is_multipath_encoder": "LLaVA-HR's dual-path vision tower",
    "mm_use_im_start_end": "<im_start>/<im_end> tokens around the image",
    "unfreeze_mm_vision_tower": "the fine-tuned vision tower inside the checkpoint instead of the CLIP folder's",
}

TOKENIZER_MODEL = "tokenizer.model"
TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
ADDED_TOKENS = "added_tokens.json"
TOKENIZER_FILES = (TOKENIZER_MODEL, TOKENIZER_JSON, TOKENIZER_CONFIG, ADDED_TOKENS, "special_tokens_map.json")
# The embedding and lm_head gain the <image> row.
VOCAB_TENSORS = ("language_model.model.embed_tokens.weight", "language_model.lm_head.weight")


class ConversionError(ValueError):
    pass


# ---- config.json --------------------------------------------------------------------------------------------

def read_json(path):
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except FileNotFoundError:
        raise ConversionError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConversionError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ConversionError(f"{path}: must hold a JSON object")
    return data


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=2, ensure_ascii=False)
        file.write("\n")


def clip_vision_config(folder):
    """The vision_config of a CLIPModel config.json (or a CLIPVisionModel's whole config), keys dpn reads."""
    path = folder / CONFIG_FILE
    data = read_json(path)
    if "vision_config" in data:
        vision = data["vision_config"]
        override = data.get("vision_config_dict") or {}
        if not isinstance(vision, dict) or not isinstance(override, dict):
            raise ConversionError(f"{path}: vision_config must be a JSON object")
        # Older CLIPModel configs also carry vision_config_dict, whose values transformers lets win.
        vision = {**vision, **override}
    elif data.get("model_type") == "clip_vision_model":
        vision = data
    else:
        raise ConversionError(f"{path}: not a CLIP config (no vision_config, model_type is not clip_vision_model)")
    return {"model_type": "clip_vision_model", **{key: vision[key] for key in VISION_KEYS if key in vision}}


def llava_hf_config(original, vision_config, dtype, where):
    """The llava-hf config.json (a dict) for an original LLaVA config and CLIP's vision_config.

    <image> gets the first id after the original vocabulary, which therefore grows by one.
    """
    architectures = original.get("architectures", [ORIGINAL_ARCHITECTURE])
    if architectures != [ORIGINAL_ARCHITECTURE]:
        raise ConversionError(f"{where}: architectures {architectures}; only {ORIGINAL_ARCHITECTURE} "
                              "(LLaVA on Llama) is converted")
    projector = original.get("mm_projector_type", "linear")  # LLaVA's default when the key is absent
    if projector != "mlp2x_gelu":
        raise ConversionError(f"{where}: unknown projector type mm_projector_type={projector!r}; "
                              "llava-hf's projector is mlp2x_gelu")
    for key, meaning in UNSUPPORTED_SETTINGS.items():
        if original.get(key):
            raise ConversionError(f"{where}: {key} is set, asking for {meaning}; not supported")
    feature = original.get("mm_vision_select_feature", "patch")
    if feature not in FEATURE_STRATEGIES:
        raise ConversionError(f"{where}: mm_vision_select_feature must be one of {tuple(FEATURE_STRATEGIES)}, "
                              f"got {feature!r}")
    if "mm_vision_select_layer" not in original:
        raise ConversionError(f"{where}: no mm_vision_select_layer (the CLIP hidden state LLaVA reads)")
    clip_width = VisionConfig.from_dict(vision_config, "the CLIP folder's vision_config").hidden_size
    if original.get("mm_hidden_size", clip_width) != clip_width:
        raise ConversionError(f"{where}: mm_hidden_size {original['mm_hidden_size']} differs from the CLIP "
                              f"tower's hidden_size {clip_width}")

    text_config = {"model_type": "llama", **{key: original[key] for key in TEXT_KEYS if key in original}}
    vocab_size = TextConfig.from_dict(text_config, where).vocab_size
    text_config["vocab_size"] = vocab_size + 1
    config = {
        "architectures": ["LlavaForConditionalGeneration"],
        "model_type": "llava",
        "text_config": text_config,
        "vision_config": vision_config,
        "image_token_index": vocab_size,
        "vision_feature_layer": original["mm_vision_select_layer"],
        "vision_feature_select_strategy": FEATURE_STRATEGIES[feature],
        "projector_hidden_act": "gelu",
        "torch_dtype": TORCH_DTYPE_NAMES[dtype],
    }
    if "pooling" in original:
        config["pooling"] = original["pooling"]
    return config


def expected_shapes(config):
    """Every tensor of the llava-hf model that `config` (a LlavaConfig) describes: name -> shape."""
    shapes = {}

    def linear(name, inputs, outputs, bias):
        shapes[name + ".weight"] = (outputs, inputs)
        if bias:
            shapes[name + ".bias"] = (outputs,)

    def layer_norm(name, size):
        shapes[name + ".weight"] = (size,)
        shapes[name + ".bias"] = (size,)

    vision = config.vision_config
    width = vision.hidden_size
    tower = "vision_tower.vision_model."
    shapes[tower + "embeddings.patch_embedding.weight"] = (width, vision.num_channels, vision.patch_size,
                                                           vision.patch_size)
    shapes[tower + "embeddings.class_embedding"] = (width,)
    shapes[tower + "embeddings.position_embedding.weight"] = (vision.grid_size ** 2 + 1, width)
    layer_norm(tower + "pre_layrnorm", width)
    for n in range(vision.num_hidden_layers):
        layer = f"{tower}encoder.layers.{n}."
        for projection in ("q_proj", "k_proj", "v_proj", "out_proj"):
            linear(layer + "self_attn." + projection, width, width, bias=True)
        layer_norm(layer + "layer_norm1", width)
        linear(layer + "mlp.fc1", width, vision.intermediate_size, bias=True)
        linear(layer + "mlp.fc2", vision.intermediate_size, width, bias=True)
        layer_norm(layer + "layer_norm2", width)
    layer_norm(tower + "post_layernorm", width)

    text = config.text_config
    hidden = text.hidden_size
    linear("multi_modal_projector.linear_1", width, hidden, bias=True)
    linear("multi_modal_projector.linear_2", hidden, hidden, bias=True)

    decoder = "language_model.model."
    shapes[decoder + "embed_tokens.weight"] = (text.vocab_size, hidden)
    query_width = text.num_attention_heads * text.head_dim
    key_width = text.num_key_value_heads * text.head_dim
    for n in range(text.num_hidden_layers):
        layer = f"{decoder}layers.{n}."
        linear(layer + "self_attn.q_proj", hidden, query_width, bias=False)
        linear(layer + "self_attn.k_proj", hidden, key_width, bias=False)
        linear(layer + "self_attn.v_proj", hidden, key_width, bias=False)
        linear(layer + "self_attn.o_proj", query_width, hidden, bias=False)
        linear(layer + "mlp.gate_proj", hidden, text.intermediate_size, bias=False)
        linear(layer + "mlp.up_proj", hidden, text.intermediate_size, bias=False)
        linear(layer + "mlp.down_proj", text.intermediate_size, hidden, bias=False)
        shapes[layer + "input_layernorm.weight"] = (hidden,)
        shapes[layer + "post_attention_layernorm.weight"] = (hidden,)
    shapes[decoder + "norm.weight"] = (hidden,)
    if not config.tie_word_embeddings:
        shapes["language_model.lm_head.weight"] = (text.vocab_size, hidden)

    pooling = config.pooling
    for dpe in pooling.layers if pooling else ():
        layer = f"{decoder}layers.{dpe.index}."
        if pooling.pooling_type == "adaptive":
            router = layer + "pooling_router."
            if pooling.router_version == "v1":
                layer_norm(router + "mlp1.0", hidden)
                linear(router + "mlp1.1", hidden, hidden // 4, bias=False)
                linear(router + "predictor", hidden // 4, dpe.num_experts, bias=False)
            else:
                linear(router + "predictor", hidden, dpe.num_experts, bias=False)
        if pooling.pooling_function == "conv":
            for number, kernel in enumerate(dpe.kernel_sizes):
                shapes[f"{layer}experts.{number}.weight"] = (hidden, 1, *kernel)
    return shapes


# ---- tensors ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """A folder of original weights: how its tensor names become llava-hf names, and which it leaves out."""
    option: str                          # the command-line option that named the folder, for messages
    folder: Path
    prefixes: Tuple[Tuple[str, str], ...]  # (original prefix, llava-hf prefix), first match wins
    left_out: Tuple[str, ...]            # prefixes of tensors that are not converted

    def target(self, name) -> Optional[str]:
        """The llava-hf name of tensor `name`, None if it is left out; an unknown name stays as it is."""
        if name.endswith(DERIVED_SUFFIXES) or name.startswith(self.left_out):
            return None
        for original, converted in self.prefixes:
            if name.startswith(original):
                return converted + name[len(original):]
        return name

    def original(self, target) -> Optional[str]:
        """The original name of llava-hf tensor `target`, None if this folder does not hold it."""
        for original, converted in self.prefixes:
            if target.startswith(converted):
                return original + target[len(converted):]
        return None


def llava_source(folder):
    return Source("--llava", folder, (
        ("model.mm_projector.0.", "multi_modal_projector.linear_1."),  # mlp2x_gelu = Sequential(Linear, GELU, Linear)
        ("model.mm_projector.2.", "multi_modal_projector.linear_2."),
        ("model.", "language_model.model."),
        ("lm_head.", "language_model.lm_head.")),
        # LLaVA builds a frozen tower from the CLIP folder and never loads copies saved in its checkpoint.
        left_out=("model.vision_tower.",))


def clip_source(folder):
    return Source("--clip", folder, (("vision_model.", "vision_tower.vision_model."),),
                  left_out=("text_model.", "text_projection.", "visual_projection.", "logit_scale"))


def weight_files(folder):
    """The weight files of a model folder: the shards its index lists, or its single weights file."""
    for index_name in WEIGHT_INDEXES:
        index = folder / index_name
        if index.exists():
            weight_map = read_json(index).get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map \
                    or not all(isinstance(file, str) for file in weight_map.values()):
                raise ConversionError(f"{index}: no 'weight_map' object of tensor names to file names")
            files = [folder / name for name in sorted(set(weight_map.values()))]
            for path in files:
                if not path.is_file():
                    raise ConversionError(f"{index}: lists {path.name}, which is missing")
            return files
    for name in SINGLE_WEIGHT_FILES:
        if (folder / name).is_file():
            return [folder / name]
    raise ConversionError(f"{folder}: no weights (none of {', '.join(WEIGHT_INDEXES + SINGLE_WEIGHT_FILES)})")


def read_tensors(path):
    """All tensors of one weight file, on the CPU."""
    if path.name.endswith(".safetensors"):
        return load_file(path)[0]
    try:
        state = torch.load(path, **TORCH_LOAD_OPTIONS)
    except Exception as error:  # unpickling and zip reading fail with many exception types
        raise ConversionError(f"{path}: not a readable PyTorch weights file ({error})") from None
    if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise ConversionError(f"{path}: holds a {type(state).__name__}, not a state dict of tensors")
    return state


def converted_tensor(target, tensor, shape, dtype, where):
    """`tensor` in `dtype`, checked against `shape`; the vocabulary tensors gain the <image> row."""
    grows = target in VOCAB_TENSORS
    source_shape = (shape[0] - 1, *shape[1:]) if grows else shape
    if tuple(tensor.shape) != source_shape:
        raise ConversionError(f"{where} has shape {tuple(tensor.shape)}, config.json implies {source_shape}")
    result = tensor.to(dtype)
    if grows:
        # The runtime puts visual tokens where <image> stands and never reads its row; as transformers'
        # converter does (less its small random noise), the row is the mean of the others, so it is harmless.
        result = torch.cat([result, tensor.mean(dim=0, keepdim=True, dtype=torch.float32).to(dtype)])
    if result.is_floating_point() and not torch.isfinite(result).all():
        raise ConversionError(f"{where} has infinite or NaN values as {TORCH_DTYPE_NAMES[dtype]} "
                              "(float16 ends at ±65504; --dtype bf16 or f32 keeps large values)")
    return result


class ShardedWriter:
    """Writes tensors as they come into safetensors shards of at most `max_bytes` (a larger tensor gets a shard
    of its own): `model.safetensors` if one shard suffices, else `model-0000N-of-0000M.safetensors` and
    `model.safetensors.index.json`. Only the shard being filled is held in memory."""

    def __init__(self, folder, max_bytes):
        self.folder = folder
        self.max_bytes = max_bytes
        self.pending = {}
        self.pending_bytes = 0
        self.shards = []  # the names in each written shard
        self.total_bytes = 0

    def add(self, name, tensor):
        size = tensor.numel() * tensor.element_size()
        if self.pending and self.pending_bytes + size > self.max_bytes:
            self._flush()
        self.pending[name] = tensor
        self.pending_bytes += size
        self.total_bytes += size

    def _flush(self):
        save_file(self.pending, self._partial(len(self.shards)), metadata={"format": "pt"})
        self.shards.append(sorted(self.pending))
        self.pending = {}
        self.pending_bytes = 0

    def _partial(self, number):
        return self.folder / f"shard-{number}.partial"

    def close(self):
        """Writes the last shard, names the shards (their count is known now) and writes the index."""
        if self.pending:
            self._flush()
        count = len(self.shards)
        if count == 1:
            self._partial(0).rename(self.folder / WEIGHTS_FILE)
            return [WEIGHTS_FILE]
        files = [f"model-{n + 1:05d}-of-{count:05d}.safetensors" for n in range(count)]
        weight_map = {}
        for number, (file, names) in enumerate(zip(files, self.shards)):
            self._partial(number).rename(self.folder / file)
            weight_map.update((name, file) for name in names)
        write_json(self.folder / INDEX_FILE, {"metadata": {"total_size": self.total_bytes},
                                              "weight_map": dict(sorted(weight_map.items()))})
        return files


def convert_weights(sources, shapes, dtype, writer, log):
    """Streams the tensors of `sources` into `writer`, file by file, checking each against `shapes`."""
    # Finding every file first reports a folder without weights before any conversion work.
    plan = [(source, weight_files(source.folder)) for source in sources]
    origin = {}
    for source, paths in plan:
        for path in paths:
            log(f"reading {path}")
            left_out = []
            for name, tensor in read_tensors(path).items():
                target = source.target(name)
                if target is None:
                    left_out.append(name)
                    continue
                where = f"{path}: tensor '{name}'"
                if target not in shapes:
                    raise ConversionError(f"{where} (llava-hf '{target}') is not part of the model config.json "
                                          "describes")
                if target in origin:
                    raise ConversionError(f"{where} is also in {origin[target]}")
                origin[target] = path
                writer.add(target, converted_tensor(target, tensor, shapes[target], dtype, where))
            if left_out:
                log(f"  left out {len(left_out)} tensors that are not converted, e.g. {left_out[0]}")
    missing = [target for target in shapes if target not in origin]
    for source in sources:
        names = [source.original(target) for target in missing if source.original(target)]
        if names:
            raise ConversionError(f"{source.option} {source.folder}: {len(names)} tensors missing, e.g. "
                                  f"{', '.join(names[:3])}")


# ---- tokenizer ----------------------------------------------------------------------------------------------

def added_tokens(folder):
    """The tokenizer's added tokens (content -> id) from every file that lists them."""
    listed = []  # (file, content, id)
    path = folder / TOKENIZER_CONFIG
    if path.exists():
        decoder = read_json(path).get("added_tokens_decoder") or {}
        if not isinstance(decoder, dict):
            raise ConversionError(f"{path}: added_tokens_decoder must be a JSON object")
        listed += [(path, entry.get("content") if isinstance(entry, dict) else None, key)
                   for key, entry in decoder.items()]
    path = folder / ADDED_TOKENS
    if path.exists():
        listed += [(path, content, token_id) for content, token_id in read_json(path).items()]
    path = folder / TOKENIZER_JSON
    if path.exists():
        entries = read_json(path).get("added_tokens") or []
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise ConversionError(f"{path}: added_tokens must be a list of objects")
        listed += [(path, entry.get("content"), entry.get("id")) for entry in entries]
    tokens = {}
    for path, content, token_id in listed:
        if not isinstance(content, str) or not str(token_id).isdigit():
            raise ConversionError(f"{path}: added token {content!r} with id {token_id!r} is malformed")
        if tokens.setdefault(content, int(token_id)) != int(token_id):
            raise ConversionError(f"{path}: added token {content!r} has id {token_id}, another file says "
                                  f"{tokens[content]}")
    return tokens


def check_tokenizer(folder, config, image_id):
    """The original tokenizer must be complete, lack <image>, and fit the embedding's `image_id` rows."""
    if not any((folder / name).is_file() for name in (TOKENIZER_MODEL, TOKENIZER_JSON)):
        raise ConversionError(f"--llava {folder}: no tokenizer ({TOKENIZER_MODEL} or {TOKENIZER_JSON})")
    tokens = added_tokens(folder)
    if IMAGE_TOKEN in tokens:
        raise ConversionError(f"{folder}: the tokenizer already has {IMAGE_TOKEN} (id {tokens[IMAGE_TOKEN]}), "
                              "which the original layout does not")
    for content, token_id in tokens.items():
        if token_id >= image_id:
            raise ConversionError(f"{folder}: added token {content!r} has id {token_id}, beyond the embedding's "
                                  f"{image_id} rows")
    pooling = config.pooling
    if pooling and pooling.pooling_type == "adaptive" and pooling.use_special_token and ROUTER_TOKEN not in tokens:
        raise ConversionError(f"{folder}: config.json's pooling reads {ROUTER_TOKEN}, which the tokenizer lacks")


def write_tokenizer(source, out, image_id):
    """Copies the tokenizer files and adds <image> = `image_id` to each list of added tokens."""
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, out / name)
    flags = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
    config = read_json(out / TOKENIZER_CONFIG) if (out / TOKENIZER_CONFIG).exists() else {}
    config["added_tokens_decoder"] = {**(config.get("added_tokens_decoder") or {}),
                                      str(image_id): {"content": IMAGE_TOKEN, **flags}}
    write_json(out / TOKENIZER_CONFIG, config)
    if (out / ADDED_TOKENS).exists():
        write_json(out / ADDED_TOKENS, {**read_json(out / ADDED_TOKENS), IMAGE_TOKEN: image_id})
    if (out / TOKENIZER_JSON).exists():
        tokenizer = read_json(out / TOKENIZER_JSON)
        tokenizer["added_tokens"] = [*(tokenizer.get("added_tokens") or []),
                                     {"id": image_id, "content": IMAGE_TOKEN, **flags}]
        write_json(out / TOKENIZER_JSON, tokenizer)


# ---- the conversion -----------------------------------------------------------------------------------------

@dataclass
class Converted:
    config: LlavaConfig
    files: list  # the weight files written


def convert(llava, clip, out, dtype=torch.float16, max_shard_bytes=MAX_SHARD_BYTES, log=lambda message: None):
    """Converts the original LLaVA folder `llava` with the CLIP folder `clip` into the llava-hf folder `out`,
    which must not exist or be empty. Nothing is left in `out` when it fails."""
    llava, clip, out = Path(llava), Path(clip), Path(out)
    for option, folder in (("--llava", llava), ("--clip", clip)):
        if not folder.is_dir():
            raise ConversionError(f"{option} {folder}: no such folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConversionError(f"--out {out}: exists and is not an empty folder")

    original_path = llava / CONFIG_FILE
    original = read_json(original_path)
    config_data = llava_hf_config(original, clip_vision_config(clip), dtype, str(original_path))
    config = LlavaConfig.from_dict(config_data, f"{original_path} (as llava-hf)")
    image_id = config.image_token_index
    check_tokenizer(llava, config, image_id)
    if "mm_vision_tower" in original:
        log(f"vision tower from {clip}; the LLaVA config names {original['mm_vision_tower']}")
    if original.get("image_aspect_ratio", "pad") != "pad":
        log(f"note: image_aspect_ratio is {original['image_aspect_ratio']!r}, not pad: run dpn with "
            "--image-mode crop")

    # Written beside `out` and renamed at the end, so that `out` never holds half a model.
    work = out.with_name(f".{out.name}.partial")
    if work.exists():
        shutil.rmtree(work)  # left by an interrupted conversion
    work.mkdir(parents=True)
    try:
        writer = ShardedWriter(work, max_shard_bytes)
        convert_weights((clip_source(clip), llava_source(llava)), expected_shapes(config), dtype, writer, log)
        files = writer.close()
        write_tokenizer(llava, work, image_id)
        write_json(work / CONFIG_FILE, config_data)
        if out.exists():
            out.rmdir()
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Converted(config, files)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Converts an original-layout LLaVA-1.5 / DPN-LLaVA checkpoint "
                                                 "and its CLIP tower into one llava-hf (transformers 4.x) folder.")
    parser.add_argument("--llava", required=True, type=Path,
                        help="the LLaVA / DPN-LLaVA folder (config.json, pytorch_model*.bin, tokenizer)")
    parser.add_argument("--clip", required=True, type=Path,
                        help="the CLIP folder, e.g. a download of openai/clip-vit-large-patch14-336")
    parser.add_argument("--out", required=True, type=Path, help="the folder to create")
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="f16", help="tensor type written (default f16)")
    args = parser.parse_args(argv)

    def log(message):
        print(message, file=sys.stderr)

    try:
        result = convert(args.llava, args.clip, args.out, DTYPES[args.dtype], log=log)
    except (ConversionError, ConfigError, SafetensorsError, OSError) as error:
        print(f"convert_original: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {len(result.files)} weight file(s), <image> = id "
          f"{result.config.image_token_index}, vocabulary {result.config.text_config.vocab_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
