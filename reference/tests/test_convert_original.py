"""convert_original.py on tiny checkpoints in the authors' original layout, made from the reference's tiny models."""

import contextlib
import io
import json
import tempfile
import unittest
from pathlib import Path

import torch

from convert_original import (ConversionError, clip_vision_config, convert, expected_shapes, llava_hf_config,
                              main)
from dpn_ref.checkpoint import load_model, read_weights
from dpn_ref.model import LlavaForConditionalGeneration
from dpn_ref.safetensors_io import save_file
from tiny import IMAGE_ID, ROUTER_ID, pixels, pooling, prompt, tiny_config, tiny_model

# The original vocabulary: the tiny model's ids up to <ROUTER>, without the <image> id the conversion adds.
ORIGINAL_VOCAB = IMAGE_ID
VOCAB_NAMES = ("model.embed_tokens.weight", "lm_head.weight")
TOKENIZER_MODEL_BYTES = b"a SentencePiece model, copied byte for byte"


def reference_model(**pooling_options):
    """A tiny DPN model whose <image> rows are what the conversion writes: the mean of the other rows."""
    model = tiny_model(tiny_config(pooling(**pooling_options)))
    with torch.no_grad():
        for weight in (model.decoder.embed_tokens.weight, model.language_model.lm_head.weight):
            weight[IMAGE_ID] = weight[:IMAGE_ID].mean(dim=0)
    return model


def original_tensors(model):
    """The model's tensors under the original names: (LLaVA tensors, CLIP tensors)."""
    llava, clip = {}, {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.clone()
        if name.startswith("vision_tower."):
            clip[name[len("vision_tower."):]] = tensor
        elif name.startswith("multi_modal_projector."):
            layer, parameter = name[len("multi_modal_projector."):].split(".")
            llava[f"model.mm_projector.{'0' if layer == 'linear_1' else '2'}.{parameter}"] = tensor
        else:
            llava[name[len("language_model."):]] = tensor
    for name in VOCAB_NAMES:
        llava[name] = llava[name][:ORIGINAL_VOCAB].clone()
    # What real files also hold: a derived buffer, a copy of the vision tower that LLaVA never loads (zeros here,
    # so that using it would show), and CLIP's text tower.
    llava["model.layers.0.self_attn.rotary_emb.inv_freq"] = torch.ones(4)
    llava["model.vision_tower.vision_tower.vision_model.pre_layrnorm.weight"] = torch.zeros(24)
    clip["vision_model.embeddings.position_ids"] = torch.arange(65)[None]
    clip["text_model.embeddings.token_embedding.weight"] = torch.randn(10, 8)
    clip["logit_scale"] = torch.tensor(2.66)
    return llava, clip


def original_config(model):
    config = model.config
    return {**config.text_config.to_dict(),
            "architectures": ["LlavaLlamaForCausalLM"],
            "model_type": "llava",
            "vocab_size": ORIGINAL_VOCAB,
            "tie_word_embeddings": False,
            "mm_projector_type": "mlp2x_gelu",
            "mm_hidden_size": config.vision_config.hidden_size,
            "mm_vision_tower": "openai/clip-vit-large-patch14-336",
            "mm_vision_select_layer": -2,
            "mm_vision_select_feature": "patch",
            "mm_use_im_start_end": False,
            "image_aspect_ratio": "pad",
            "use_mm_proj": True,
            "pooling": config.pooling.to_dict()}


def clip_config(model):
    return {"architectures": ["CLIPModel"],
            "model_type": "clip",
            "projection_dim": 8,
            "text_config": {"hidden_size": 8, "vocab_size": 10},
            "vision_config": {**model.config.vision_config.to_dict(), "dropout": 0.0, "projection_dim": 8}}


def write_weights(folder, tensors, layout):
    """layout: "bin-shards" (pytorch_model-*.bin + index), "bin" (pytorch_model.bin) or "safetensors-shards"."""
    if layout == "bin":
        torch.save(tensors, folder / "pytorch_model.bin")
        return
    names = sorted(tensors)
    halves = (names[:len(names) // 2], names[len(names) // 2:])
    stem, suffix, index = (("pytorch_model", "bin", "pytorch_model.bin.index.json") if layout == "bin-shards"
                           else ("model", "safetensors", "model.safetensors.index.json"))
    weight_map = {}
    for number, half in enumerate(halves, start=1):
        file = f"{stem}-{number:05d}-of-00002.{suffix}"
        shard = {name: tensors[name] for name in half}
        if suffix == "bin":
            torch.save(shard, folder / file)
        else:
            save_file(shard, folder / file)
        weight_map.update((name, file) for name in half)
    (folder / index).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


def write_original(root, model, layout="bin-shards", clip_layout="bin", edit=lambda llava, clip: None):
    """The LLaVA folder (transformers 4.31's tokenizer files, <ROUTER> in added_tokens.json) and the CLIP folder."""
    llava_folder, clip_folder = root / "llava", root / "clip"
    llava_folder.mkdir()
    clip_folder.mkdir()
    llava, clip = original_tensors(model)
    edit(llava, clip)
    write_weights(llava_folder, llava, layout)
    write_weights(clip_folder, clip, clip_layout)
    (llava_folder / "config.json").write_text(json.dumps(original_config(model)))
    (clip_folder / "config.json").write_text(json.dumps(clip_config(model)))
    (llava_folder / "tokenizer.model").write_bytes(TOKENIZER_MODEL_BYTES)
    (llava_folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 2048, "pad_token": None}))
    (llava_folder / "special_tokens_map.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>"}))
    (llava_folder / "added_tokens.json").write_text(json.dumps({"<ROUTER>": ROUTER_ID}))
    return llava_folder, clip_folder


def read_json(path):
    return json.loads(Path(path).read_text())


class ConvertOriginalTest(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory()
        self.root = Path(self.temp.name)
        self.out = self.root / "out"

    def tearDown(self):
        self.temp.cleanup()

    def logits(self, model):
        with torch.no_grad():
            output = model(torch.tensor([prompt()]), pixels())
        return output.logits, [(d.layer, d.expert) for d in output.traces[0].decisions]

    def test_converted_model_computes_what_the_original_did(self):
        model = reference_model(pooling_function="conv")
        llava, clip = write_original(self.root, model)
        # A limit below the model's size makes several output shards.
        result = convert(llava, clip, self.out, dtype=torch.float32, max_shard_bytes=100_000)
        self.assertGreater(len(result.files), 1)
        loaded = load_model(self.out, router_token_id=ROUTER_ID).eval()
        logits, decisions = self.logits(loaded)
        expected_logits, expected_decisions = self.logits(model)
        self.assertEqual(decisions, expected_decisions)
        self.assertTrue(torch.equal(logits, expected_logits), "an f32 conversion copies every weight exactly")

    def test_output_is_the_layout_dpn_reads(self):
        model = reference_model(pooling_function="conv")
        llava, clip = write_original(self.root, model)
        convert(llava, clip, self.out, max_shard_bytes=100_000)

        index = read_json(self.out / "model.safetensors.index.json")
        files = sorted(set(index["weight_map"].values()))
        self.assertEqual(files, [f"model-{n:05d}-of-{len(files):05d}.safetensors" for n in range(1, len(files) + 1)])
        self.assertEqual(sorted(p.name for p in self.out.glob("*.safetensors")), files)
        names = set(index["weight_map"])
        for name in ("vision_tower.vision_model.embeddings.patch_embedding.weight",
                     "vision_tower.vision_model.embeddings.class_embedding",
                     "vision_tower.vision_model.embeddings.position_embedding.weight",
                     "vision_tower.vision_model.pre_layrnorm.weight",
                     "vision_tower.vision_model.encoder.layers.2.self_attn.out_proj.bias",
                     "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight",
                     "vision_tower.vision_model.post_layernorm.bias",
                     "multi_modal_projector.linear_1.weight",
                     "multi_modal_projector.linear_2.bias",
                     "language_model.model.embed_tokens.weight",
                     "language_model.model.layers.5.self_attn.o_proj.weight",
                     "language_model.model.layers.0.mlp.down_proj.weight",
                     "language_model.model.layers.4.post_attention_layernorm.weight",
                     "language_model.model.norm.weight",
                     "language_model.lm_head.weight",
                     "language_model.model.layers.1.pooling_router.mlp1.0.weight",
                     "language_model.model.layers.1.pooling_router.mlp1.1.weight",
                     "language_model.model.layers.3.pooling_router.predictor.weight",
                     "language_model.model.layers.3.experts.2.weight"):
            self.assertIn(name, names)
        prefixes = ("vision_tower.vision_model.", "multi_modal_projector.linear_", "language_model.model.",
                    "language_model.lm_head.")
        self.assertEqual([n for n in names if not n.startswith(prefixes)], [])
        weights = read_weights(self.out)
        self.assertEqual({t.dtype for t in weights.values()}, {torch.float16})
        self.assertEqual(tuple(weights["language_model.lm_head.weight"].shape), (ORIGINAL_VOCAB + 1, 32))

        config = read_json(self.out / "config.json")
        self.assertEqual(config["image_token_index"], IMAGE_ID)
        self.assertEqual(config["text_config"]["vocab_size"], IMAGE_ID + 1)
        self.assertEqual((config["vision_feature_layer"], config["vision_feature_select_strategy"],
                          config["projector_hidden_act"], config["torch_dtype"]), (-2, "default", "gelu", "float16"))
        self.assertEqual(config["vision_config"]["hidden_size"], 24)
        self.assertNotIn("dropout", config["vision_config"])
        self.assertEqual(config["pooling"], original_config(model)["pooling"])
        self.assertFalse(any(key.startswith("mm_") for key in [*config, *config["text_config"]]))

        self.assertEqual((self.out / "tokenizer.model").read_bytes(), TOKENIZER_MODEL_BYTES)
        decoder = read_json(self.out / "tokenizer_config.json")["added_tokens_decoder"]
        self.assertEqual(decoder, {str(IMAGE_ID): {"content": "<image>", "lstrip": False, "normalized": False,
                                                   "rstrip": False, "single_word": False, "special": True}})
        self.assertEqual(read_json(self.out / "added_tokens.json"), {"<ROUTER>": ROUTER_ID, "<image>": IMAGE_ID})
        self.assertTrue((self.out / "special_tokens_map.json").exists())
        self.assertFalse((self.root / ".out.partial").exists(), "no work folder is left behind")

    def test_single_bin_and_safetensors_shards_convert_alike(self):
        model = reference_model()
        converted = []
        for number, (layout, clip_layout) in enumerate((("bin-shards", "bin"), ("bin", "safetensors-shards"),
                                                        ("safetensors-shards", "bin"))):
            root = self.root / str(number)
            root.mkdir()
            convert(*write_original(root, model, layout, clip_layout), root / "out")
            converted.append(read_weights(root / "out"))
        for other in converted[1:]:
            self.assertEqual(other.keys(), converted[0].keys())
            self.assertTrue(all(torch.equal(other[name], converted[0][name]) for name in other))

    def test_tokenizer_json_gets_the_image_token_too(self):
        llava, clip = write_original(self.root, reference_model())
        (llava / "tokenizer.json").write_text(json.dumps(
            {"added_tokens": [{"id": 0, "content": "<unk>", "special": True},
                              {"id": ROUTER_ID, "content": "<ROUTER>", "special": True}]}))
        convert(llava, clip, self.out)
        added = read_json(self.out / "tokenizer.json")["added_tokens"]
        self.assertEqual([(token["id"], token["content"]) for token in added],
                         [(0, "<unk>"), (ROUTER_ID, "<ROUTER>"), (IMAGE_ID, "<image>")])

    def test_values_beyond_float16_name_the_tensor(self):
        def too_large(llava, clip):
            llava["model.norm.weight"][0] = 1e6

        llava, clip = write_original(self.root, reference_model(), edit=too_large)
        with self.assertRaisesRegex(ConversionError, r"'model.norm.weight' has infinite or NaN values as float16"):
            convert(llava, clip, self.out)
        self.assertFalse(self.out.exists())
        convert(llava, clip, self.out, dtype=torch.bfloat16)
        self.assertEqual(read_weights(self.out)["language_model.model.norm.weight"][0].item(), 999424.0)

    def test_bad_checkpoints_name_the_file_and_tensor(self):
        def drop(name):
            return lambda llava, clip: llava.pop(name)

        def replace(name, tensor):
            return lambda llava, clip: llava.__setitem__(name, tensor)

        cases = (
            ("missing", drop("model.layers.2.mlp.up_proj.weight"),
             r"--llava .*llava: 1 tensors missing, e.g. model.layers.2.mlp.up_proj.weight"),
            ("missing vision", lambda llava, clip: clip.pop("vision_model.pre_layrnorm.bias"),
             r"--clip .*clip: 1 tensors missing, e.g. vision_model.pre_layrnorm.bias"),
            ("shape", replace("model.mm_projector.0.weight", torch.zeros(3, 3)),
             r"pytorch_model-0000\d-of-00002.bin: tensor 'model.mm_projector.0.weight' has shape \(3, 3\), "
             r"config.json implies \(32, 24\)"),
            ("vocabulary", replace("lm_head.weight", torch.zeros(ORIGINAL_VOCAB + 1, 32)),
             r"'lm_head.weight' has shape \(64, 32\), config.json implies \(63, 32\)"),
            ("unknown", replace("model.layers.2.pooling_router.predictor.weight", torch.zeros(3, 8)),
             r"'model.layers.2.pooling_router.predictor.weight' \(llava-hf "
             r"'language_model.model.layers.2.pooling_router.predictor.weight'\) is not part of the model"),
        )
        for number, (label, edit, message) in enumerate(cases):
            with self.subTest(label):
                root = self.root / str(number)
                root.mkdir()
                with self.assertRaisesRegex(ConversionError, message):
                    convert(*write_original(root, reference_model(), edit=edit), root / "out")
                self.assertEqual(sorted(p.name for p in root.iterdir()), ["clip", "llava"], "nothing is left")

    def test_bad_folders_and_settings_are_named(self):
        llava, clip = write_original(self.root, reference_model())
        with self.assertRaisesRegex(ConversionError, r"--clip .*nowhere: no such folder"):
            convert(llava, self.root / "nowhere", self.out)
        (clip / "pytorch_model.bin").unlink()
        with self.assertRaisesRegex(ConversionError, r"clip: no weights \(none of model.safetensors.index.json"):
            convert(llava, clip, self.out)

        (clip / "pytorch_model.bin").write_bytes(b"not a zip file")
        with self.assertRaisesRegex(ConversionError, "clip/pytorch_model.bin: not a readable PyTorch weights file"):
            convert(llava, clip, self.out)

        # The config and tokenizer are checked before any weights are read.
        config = read_json(llava / "config.json")
        (llava / "config.json").write_text(json.dumps({**config, "mm_projector_type": "mlp3x_gelu"}))
        with self.assertRaisesRegex(ConversionError, r"config.json: unknown projector type "
                                                     r"mm_projector_type='mlp3x_gelu'"):
            convert(llava, clip, self.out)

        (llava / "config.json").write_text(json.dumps(config))
        (llava / "added_tokens.json").write_text(json.dumps({}))
        with self.assertRaisesRegex(ConversionError, "pooling reads <ROUTER>, which the tokenizer lacks"):
            convert(llava, clip, self.out)
        (llava / "added_tokens.json").write_text(json.dumps({"<ROUTER>": ROUTER_ID, "<image>": 0}))
        with self.assertRaisesRegex(ConversionError, r"already has <image> \(id 0\)"):
            convert(llava, clip, self.out)
        (llava / "added_tokens.json").write_text(json.dumps({"<ROUTER>": ROUTER_ID}))
        (llava / "tokenizer_config.json").write_text(json.dumps(
            {"added_tokens_decoder": {"61": {"content": "<ROUTER>", "special": True}}}))
        with self.assertRaisesRegex(ConversionError, "added_tokens.json: added token '<ROUTER>' has id 62, another "
                                                     "file says 61"):
            convert(llava, clip, self.out)
        (llava / "tokenizer_config.json").unlink()
        (llava / "added_tokens.json").write_text(json.dumps({"<ROUTER>": IMAGE_ID}))
        with self.assertRaisesRegex(ConversionError, "'<ROUTER>' has id 63, beyond the embedding's 63 rows"):
            convert(llava, clip, self.out)

        self.out.mkdir()
        (self.out / "model.safetensors").write_bytes(b"")
        with self.assertRaisesRegex(ConversionError, "--out .*out: exists and is not an empty folder"):
            convert(llava, clip, self.out)

    def test_command_line(self):
        llava, clip = write_original(self.root, reference_model())
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            self.assertEqual(main(["--llava", str(llava), "--clip", str(self.root / "nowhere"),
                                   "--out", str(self.out)]), 1)
        self.assertEqual(stderr.getvalue(), f"convert_original: --clip {self.root / 'nowhere'}: no such folder\n")
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            self.assertEqual(main(["--llava", str(llava), "--clip", str(clip), "--out", str(self.out),
                                   "--dtype", "bf16"]), 0)
        self.assertIn(f"wrote {self.out}: 1 weight file(s), <image> = id {IMAGE_ID}", stdout.getvalue())
        self.assertEqual(read_weights(self.out)["language_model.model.norm.weight"].dtype, torch.bfloat16)


class ConfigTest(unittest.TestCase):
    def test_shape_table_matches_the_reference_model(self):
        configs = {"plain": tiny_config(), "tied": tiny_config(tie=True),
                   "v1 max": tiny_config(pooling()), "v2 conv": tiny_config(pooling(router_version="v2",
                                                                                    pooling_function="conv")),
                   "static": tiny_config(pooling("static", experts=((2, 2), (1, 2))))}
        for label, config in configs.items():
            with self.subTest(label):
                state = LlavaForConditionalGeneration(config, ROUTER_ID).state_dict()
                if config.tie_word_embeddings:
                    del state["language_model.lm_head.weight"]
                self.assertEqual(expected_shapes(config), {name: tuple(t.shape) for name, t in state.items()})

    def test_feature_strategy_and_settings(self):
        model = reference_model()
        original = {**original_config(model), "mm_vision_select_feature": "cls_patch"}
        del original["pooling"]  # pooling needs the patch grid that cls_patch does not give
        vision = clip_config(model)["vision_config"]
        config = llava_hf_config(original, vision, torch.float32, "config.json")
        self.assertEqual((config["vision_feature_select_strategy"], config["torch_dtype"]), ("full", "float32"))
        self.assertNotIn("pooling", config)
        for key, value, message in (
                ("mm_vision_select_feature", "cls", "mm_vision_select_feature must be one of"),
                ("is_multipath_encoder", True, "is_multipath_encoder is set, asking for LLaVA-HR"),
                ("mm_hidden_size", 1024, "mm_hidden_size 1024 differs from the CLIP tower's hidden_size 24")):
            with self.subTest(key):
                with self.assertRaisesRegex(ConversionError, message):
                    llava_hf_config({**original, key: value}, vision, torch.float32, "config.json")

    def test_clip_configs_of_both_classes(self):
        with tempfile.TemporaryDirectory() as temp:
            path = Path(temp) / "config.json"
            # Older CLIPModel configs carry vision_config_dict, whose values win, as in transformers.
            path.write_text(json.dumps({"vision_config": {"hidden_size": 24, "patch_size": 4, "dropout": 0.0},
                                        "vision_config_dict": {"patch_size": 14}}))
            self.assertEqual(clip_vision_config(Path(temp)),
                             {"model_type": "clip_vision_model", "hidden_size": 24, "patch_size": 14})
            path.write_text(json.dumps({"model_type": "clip_vision_model", "image_size": 336}))
            self.assertEqual(clip_vision_config(Path(temp)), {"model_type": "clip_vision_model", "image_size": 336})
            path.write_text(json.dumps({"model_type": "siglip"}))
            with self.assertRaisesRegex(ConversionError, "not a CLIP config"):
                clip_vision_config(Path(temp))

if __name__ == "__main__":
    unittest.main()
