import json
import tempfile
import unittest
import warnings
from pathlib import Path

from dpn_ref.config import ConfigError, LlavaConfig, PoolingConfig

# Abridged from llava-hf/llava-1.5-7b-hf: the text config leaves most Llama values at their defaults.
LLAVA_HF = {
    "architectures": ["LlavaForConditionalGeneration"],
    "ignore_index": -100,
    "image_token_index": 32000,
    "model_type": "llava",
    "projector_hidden_act": "gelu",
    "text_config": {"_name_or_path": "lmsys/vicuna-7b-v1.5", "architectures": ["LlamaForCausalLM"],
                    "max_position_embeddings": 4096, "model_type": "llama", "rms_norm_eps": 1e-05,
                    "torch_dtype": "float16", "vocab_size": 32064},
    "tie_word_embeddings": False,
    "vision_config": {"hidden_size": 1024, "image_size": 336, "intermediate_size": 4096,
                      "model_type": "clip_vision_model", "num_attention_heads": 16, "num_hidden_layers": 24,
                      "patch_size": 14, "projection_dim": 768, "vocab_size": 32000},
    "vision_feature_layer": -2,
    "vision_feature_select_strategy": "default",
}

RELEASED_POOLING = {
    "pooling_type": "adaptive",
    "pooling_layers": [{"index": i, "kernel_size": [[1, 1], [1, 2], [2, 2]], "stride": [[1, 1], [1, 2], [2, 2]]}
                       for i in (7, 15, 23)],
    "pooling_function": "max",
    "pooling_location": "post",
    "router_version": "v1",
    "use_special_token": True,
    "prepooling": False,
    "detach_cls_token_to_predict": False,
}


class ConfigTest(unittest.TestCase):
    def test_llava_hf_config_reads_with_transformers_defaults(self):
        config = LlavaConfig.from_dict(LLAVA_HF)
        text, vision = config.text_config, config.vision_config
        self.assertEqual((text.hidden_size, text.intermediate_size, text.num_hidden_layers), (4096, 11008, 32))
        self.assertEqual((text.num_attention_heads, text.num_key_value_heads, text.head_dim), (32, 32, 128))
        self.assertEqual((text.vocab_size, text.rope_theta, text.rms_norm_eps), (32064, 10000.0, 1e-5))
        self.assertEqual((vision.grid_size, vision.hidden_act, vision.layer_norm_eps), (24, "quick_gelu", 1e-5))
        self.assertEqual(config.vision_layers_used, 23)
        self.assertIsNone(config.pooling)

    def test_round_trip_keeps_unknown_keys(self):
        data = dict(LLAVA_HF, pooling=RELEASED_POOLING)
        config = LlavaConfig.from_dict(data)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "config.json"
            config.save(path)
            written = json.loads(path.read_text())
            again = LlavaConfig.load(path)
        self.assertEqual(again, config)
        self.assertEqual(written["architectures"], ["LlavaForConditionalGeneration"])
        self.assertEqual(written["text_config"]["_name_or_path"], "lmsys/vicuna-7b-v1.5")
        self.assertEqual(written["vision_config"]["projection_dim"], 768)
        self.assertEqual(written["pooling"], RELEASED_POOLING)

    def test_released_pooling_section(self):
        pooling = PoolingConfig.from_dict(RELEASED_POOLING)
        self.assertEqual([layer.index for layer in pooling.layers], [7, 15, 23])
        self.assertEqual(pooling.layer(15).kernel_sizes, ((1, 1), (1, 2), (2, 2)))
        self.assertIsNone(pooling.layer(8))
        self.assertTrue(pooling.use_special_token)

    def test_older_default_with_different_expert_counts(self):
        four = {"kernel_size": [[1, 1], [2, 2], [4, 4]], "stride": [[1, 1], [2, 2], [4, 4]]}
        data = {"pooling_type": "adaptive", "pooling_layers": [
            dict(four, index=7), dict(four, index=15),
            {"index": 23, "kernel_size": [[1, 1], [2, 2]], "stride": [[1, 1], [2, 2]]}]}
        pooling = PoolingConfig.from_dict(data)
        self.assertEqual([layer.num_experts for layer in pooling.layers], [3, 3, 2])
        self.assertEqual(pooling.layer(7).strides[2], (4, 4))

    def test_static_layers_hold_one_pair_and_write_it_back(self):
        data = {"pooling_type": "static", "pooling_layers": [{"index": 7, "kernel_size": [2, 2], "stride": [2, 2]}]}
        pooling = PoolingConfig.from_dict(data)
        self.assertEqual(pooling.layers[0].kernel_sizes, ((2, 2),))
        self.assertEqual(pooling.to_dict()["pooling_layers"], data["pooling_layers"])

    def test_as_static_picks_one_kernel_per_layer(self):
        static = PoolingConfig.from_dict(RELEASED_POOLING).as_static([(2, 2), (1, 2), (1, 1)])
        self.assertEqual(static.pooling_type, "static")
        self.assertEqual([layer.kernel_sizes for layer in static.layers], [((2, 2),), ((1, 2),), ((1, 1),)])
        with self.assertRaisesRegex(ConfigError, "one kernel per DPE layer"):
            PoolingConfig.from_dict(RELEASED_POOLING).as_static([(2, 2)])

    def test_unknown_pooling_key_warns(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            PoolingConfig.from_dict(dict(RELEASED_POOLING, weighting_vision_tokens=False))
        self.assertEqual(len(caught), 1)
        self.assertIn("weighting_vision_tokens", str(caught[0].message))

    def test_bad_values_name_the_key(self):
        cases = {
            "pooling_type": dict(RELEASED_POOLING, pooling_type="dynamic"),
            "pooling_function": dict(RELEASED_POOLING, pooling_function="min"),
            r"pooling_layers\[0\].kernel_size": dict(RELEASED_POOLING,
                                                      pooling_layers=[{"index": 1, "kernel_size": [2]}]),
            "single": {"pooling_type": "static", "pooling_layers": [{"index": 1, "kernel_size": [[1, 1], [2, 2]]}]},
            "duplicate": dict(RELEASED_POOLING, pooling_layers=RELEASED_POOLING["pooling_layers"][:1] * 2),
            "conv experts need a router": {"pooling_type": "static", "pooling_function": "conv", "pooling_layers": []},
        }
        for message, data in cases.items():
            with self.subTest(message), self.assertRaisesRegex(ConfigError, message):
                PoolingConfig.from_dict(data)

    def test_pooling_type_none_means_plain_llava(self):
        self.assertIsNone(LlavaConfig.from_dict(dict(LLAVA_HF, pooling={"pooling_type": "none"})).pooling)

    def test_layer_index_must_exist_in_the_decoder(self):
        data = dict(LLAVA_HF, pooling=dict(RELEASED_POOLING, pooling_layers=[
            {"index": 32, "kernel_size": [[1, 1]], "stride": [[1, 1]]}]))
        with self.assertRaisesRegex(ConfigError, "outside the 32-layer decoder"):
            LlavaConfig.from_dict(data)

    def test_type_errors_name_the_key(self):
        with self.assertRaisesRegex(ConfigError, r"text_config.hidden_size must be int"):
            LlavaConfig.from_dict(dict(LLAVA_HF, text_config={"hidden_size": "4096"}))


if __name__ == "__main__":
    unittest.main()
