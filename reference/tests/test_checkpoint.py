import json
import tempfile
import unittest
import warnings
from pathlib import Path

import torch

from dpn_ref.checkpoint import CheckpointError, load_model, save_model
from dpn_ref.safetensors_io import load_file, save_file
from tiny import ROUTER_ID, pixels, pooling, prompt, tiny_config, tiny_model


class CheckpointTest(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory()
        self.folder = Path(self.temp.name)

    def tearDown(self):
        self.temp.cleanup()

    def logits(self, model, ids=None):
        with torch.no_grad():
            return model(torch.tensor([ids or prompt()]), pixels()).logits

    def test_round_trip_with_llava_hf_names(self):
        model = tiny_model(tiny_config(pooling(pooling_function="conv")))
        save_model(model, self.folder)
        names = set(load_file(self.folder / "model.safetensors")[0])
        for name in ("vision_tower.vision_model.embeddings.patch_embedding.weight",
                     "vision_tower.vision_model.embeddings.class_embedding",
                     "vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.bias",
                     "vision_tower.vision_model.post_layernorm.weight",
                     "multi_modal_projector.linear_2.weight",
                     "language_model.model.layers.5.mlp.gate_proj.weight",
                     "language_model.model.layers.1.pooling_router.mlp1.0.bias",
                     "language_model.model.layers.1.pooling_router.mlp1.1.weight",
                     "language_model.model.layers.3.pooling_router.predictor.weight",
                     "language_model.model.layers.3.experts.2.weight",
                     "language_model.lm_head.weight"):
            self.assertIn(name, names)
        loaded = load_model(self.folder, router_token_id=ROUTER_ID).eval()
        self.assertEqual(loaded.config, model.config)
        self.assertTrue(torch.equal(self.logits(loaded), self.logits(model)))

    def test_f16_save_loads_into_f32_within_f16_rounding(self):
        model = tiny_model(tiny_config())
        save_model(model, self.folder, dtype=torch.float16)
        tensors, _ = load_file(self.folder / "model.safetensors")
        self.assertEqual(tensors["multi_modal_projector.linear_1.weight"].dtype, torch.float16)
        loaded = load_model(self.folder).eval()
        weight = loaded.multi_modal_projector.linear_1.weight
        self.assertEqual(weight.dtype, torch.float32)
        # f16 keeps 11 significant bits: a relative error of at most 2^-11.
        original = model.multi_modal_projector.linear_1.weight
        self.assertTrue(torch.allclose(weight, original, rtol=2 ** -11, atol=1e-7))

    def test_static_pooling_on_a_checkpoint_without_routers(self):
        save_model(tiny_model(tiny_config()), self.folder)
        static = pooling("static", experts=((2, 2), (1, 2)))
        model = load_model(self.folder, pooling=static).eval()
        with torch.no_grad():
            output = model(torch.tensor([prompt()]), pixels())
        self.assertEqual([d.grid_out for d in output.traces[0].decisions], [(4, 4), (4, 2)])
        with self.assertRaisesRegex(CheckpointError, "tensors missing.*pooling_router.*static pooling works"):
            load_model(self.folder, pooling=pooling(), router_token_id=ROUTER_ID)

    def test_router_weights_unused_by_static_override_warn(self):
        save_model(tiny_model(tiny_config(pooling())), self.folder)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load_model(self.folder, pooling=None)
        self.assertTrue(any("router/expert tensors unused" in str(w.message) for w in caught))

    def test_transformers_5_names_and_shards(self):
        model = tiny_model(tiny_config(tie=True))
        state = model.state_dict()
        del state["language_model.lm_head.weight"]
        renamed = {}
        for name, tensor in state.items():
            for old, new in (("vision_tower.", "model.vision_tower."),
                             ("multi_modal_projector.", "model.multi_modal_projector."),
                             ("language_model.model.", "model.language_model.")):
                if name.startswith(old):
                    name = new + name[len(old):]
                    break
            renamed[name] = tensor.clone()
        names = sorted(renamed)
        shards = {"a.safetensors": names[:len(names) // 2], "b.safetensors": names[len(names) // 2:]}
        for shard, shard_names in shards.items():
            save_file({n: renamed[n] for n in shard_names}, self.folder / shard)
        weight_map = {n: shard for shard, shard_names in shards.items() for n in shard_names}
        (self.folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
        model.config.save(self.folder / "config.json")
        loaded = load_model(self.folder).eval()
        self.assertIs(loaded.language_model.lm_head.weight, loaded.decoder.embed_tokens.weight)
        self.assertTrue(torch.equal(self.logits(loaded), self.logits(model)))

    def test_bad_checkpoints_name_the_tensor(self):
        save_model(tiny_model(tiny_config()), self.folder)
        tensors, _ = load_file(self.folder / "model.safetensors")
        tensors["multi_modal_projector.linear_1.weight"] = torch.zeros(3, 3)
        save_file(tensors, self.folder / "model.safetensors")
        with self.assertRaisesRegex(CheckpointError, r"'multi_modal_projector.linear_1.weight' has shape \(3, 3\)"):
            load_model(self.folder)
        tensors["surprise.weight"] = torch.zeros(1)
        save_file(tensors, self.folder / "model.safetensors")
        with self.assertRaisesRegex(CheckpointError, "surprise.weight"):
            load_model(self.folder)


if __name__ == "__main__":
    unittest.main()
