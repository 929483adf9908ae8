import unittest

import torch
import torch.nn.functional as F

from dpn_ref.llama import RmsNorm, apply_rope
from tiny import IMAGE_ID, ROUTER_ID, pixels, pooling, prefer_expert, prompt, tiny_config, tiny_model

GRID_TOKENS = 64  # the tiny vision tower's 8×8 patches


class VisionTest(unittest.TestCase):
    def test_second_to_last_layer_without_class_token(self):
        model = tiny_model(tiny_config())
        image = pixels()
        features, grid = model.image_features(image)
        self.assertEqual((tuple(features.shape), grid), ((1, GRID_TOKENS, 32), (8, 8)))
        layers = model.vision_tower.vision_model.encoder.layers
        with torch.no_grad():
            layers[2].mlp.fc2.weight.add_(1.0)
            self.assertTrue(torch.equal(model.image_features(image)[0], features), "the last layer must not run")
            layers[1].mlp.fc2.weight.add_(1.0)
            self.assertFalse(torch.allclose(model.image_features(image)[0], features))

    def test_full_strategy_keeps_class_token(self):
        config = tiny_config()
        config.vision_feature_select_strategy = "full"
        self.assertEqual(tiny_model(config).image_features(pixels())[0].shape[1], GRID_TOKENS + 1)

    def test_prepooling_halves_the_grid(self):
        model = tiny_model(tiny_config(pooling(prepooling=True)))
        features, grid = model.image_features(pixels())
        self.assertEqual((features.shape[1], grid), (16, (4, 4)))


class DecoderPiecesTest(unittest.TestCase):
    def test_rope_pairs_dimension_i_with_i_plus_half(self):
        x = torch.zeros(1, 1, 1, 8)
        x[..., 1] = 1.0
        inv_freq = 1.0 / 10000 ** (torch.arange(0, 8, 2).float() / 8)
        angles = 3 * inv_freq
        cos, sin = torch.cat([angles, angles]).cos(), torch.cat([angles, angles]).sin()
        rotated = apply_rope(x, cos, sin)[0, 0, 0]
        expected = torch.zeros(8)
        expected[1], expected[5] = angles[1].cos(), angles[1].sin()
        self.assertTrue(torch.allclose(rotated, expected, atol=1e-7))

    def test_rms_norm_squares_in_f32(self):
        # 300² overflows f16 (max 65504): only an f32 computation gives the right answer.
        x = torch.full((1, 4), 300.0, dtype=torch.float16)
        out = RmsNorm(4, 1e-5).half()(x)
        self.assertTrue(torch.allclose(out.float(), torch.ones(1, 4), atol=1e-3))


class PositionsTest(unittest.TestCase):
    """After pooling, later layers number their own tokens 0..length-1; built here from the model's parts."""

    def by_hand(self, model, ids, image, pool_after, kernel, shifted_positions=False):
        embed = model.decoder.embed_tokens
        at = ids.index(IMAGE_ID)
        features, _ = model.image_features(image)
        hidden = torch.cat([embed(torch.tensor(ids[:at])), features[0], embed(torch.tensor(ids[at + 1:]))])[None]
        positions = torch.arange(hidden.shape[1])
        for index, layer in enumerate(model.decoder.layers):
            length = hidden.shape[1]
            numbers = positions if shifted_positions else torch.arange(length)
            cos, sin = model.decoder.rotary(numbers[None])
            allowed = torch.ones(length, length).tril().bool()[None, None]
            hidden = layer(hidden, cos, sin, allowed)
            if index == pool_after:
                span = hidden[0, at:at + GRID_TOKENS].reshape(8, 8, -1).permute(2, 0, 1)
                pooled = F.max_pool2d(span[None], kernel).flatten(2).transpose(1, 2)[0]
                hidden = torch.cat([hidden[0, :at], pooled, hidden[0, at + GRID_TOKENS:]])[None]
                kept = torch.ones(positions.shape[0], dtype=torch.bool)
                kept[at + pooled.shape[0]:at + GRID_TOKENS] = False
                # The wrong alternative: text after the image keeps its pre-pooling position numbers.
                positions = positions[kept]
        return model.language_model.lm_head(model.decoder.norm(hidden))[0]

    def test_positions_restart_after_pooling(self):
        model = tiny_model(tiny_config(pooling("static", indices=(2,), experts=((2, 2),))))
        ids, image = prompt(router=False), pixels()
        with torch.no_grad():
            logits = model(torch.tensor([ids]), image).logits[0]
            expected = self.by_hand(model, ids, image, pool_after=2, kernel=(2, 2))
            shifted = self.by_hand(model, ids, image, pool_after=2, kernel=(2, 2), shifted_positions=True)
        self.assertEqual(logits.shape[0], len(ids) - 1 + 16)
        # f32 with the same operations in the same order: only rounding differences.
        self.assertTrue(torch.allclose(logits, expected, atol=1e-5))
        self.assertGreater((shifted - expected).abs().max().item(), 1e-2)


class RouterInputTest(unittest.TestCase):
    """The router reads the layer's hidden state at the router tokens: id index + N − 1 with N the current
    visual count (the authors' indexing), averaged over several router tokens."""

    def capture(self, model, ids, **kwargs):
        seen = {}
        for index in (1, 3):
            layer = model.decoder.layers[index]
            layer.register_forward_hook(lambda _m, _i, out, index=index: seen.__setitem__(("layer", index), out[0]))
            layer.pooling_router.register_forward_hook(
                lambda _m, inputs, _o, index=index: seen.__setitem__(("router", index), inputs[0]))
        model(torch.tensor([ids]), pixels(), **kwargs)
        return seen

    def test_router_tokens_are_averaged_at_shifted_indices(self):
        model = tiny_model(tiny_config(pooling()))
        prefer_expert(model.decoder.layers[1].pooling_router, 2)
        ids = prompt(router=True) + [ROUTER_ID, 12]
        routers = [i for i, token in enumerate(ids) if token == ROUTER_ID]
        with torch.no_grad():
            seen = self.capture(model, ids)
        for layer, visual in ((1, GRID_TOKENS), (3, 16)):  # layer 1 pools 8×8 to 4×4
            expected = seen[("layer", layer)][[r + visual - 1 for r in routers]].mean(dim=0)
            self.assertTrue(torch.allclose(seen[("router", layer)], expected, atol=1e-6), layer)

    def test_last_prompt_token_without_special_token(self):
        model = tiny_model(tiny_config(pooling(use_special_token=False)))
        ids = prompt(router=False) + [20, 21]
        cases = {  # how the prompt ends -> its last token's index in ids
            "all ids": ({}, len(ids) - 1),
            "prompt_lengths": ({"prompt_lengths": [len(ids) - 2]}, len(ids) - 3),
            "labels": ({"labels": torch.tensor([[-100] * (len(ids) - 2) + [20, 21]])}, len(ids) - 3),
        }
        for name, (kwargs, last) in cases.items():
            with self.subTest(name), torch.no_grad():
                seen = self.capture(model, ids, **kwargs)
                expected = seen[("layer", 1)][last + GRID_TOKENS - 1]
                self.assertTrue(torch.allclose(seen[("router", 1)], expected, atol=1e-6))

    def test_missing_router_token_is_an_error(self):
        model = tiny_model(tiny_config(pooling()))
        with self.assertRaisesRegex(ValueError, "no <ROUTER> token"):
            model(torch.tensor([prompt(router=False)]), pixels())


class BatchTest(unittest.TestCase):
    def test_batch_with_different_pooling_matches_single_samples(self):
        model = tiny_model(tiny_config(pooling()))
        prefer_expert(model.decoder.layers[3].pooling_router, 1)
        samples = [prompt(), [1, 30, 31, ROUTER_ID, 32], prompt(before=(5, 6, 7, 8, 9, 10), after=(11,))]
        images = pixels(2)
        width = max(map(len, samples))
        ids = torch.tensor([s + [0] * (width - len(s)) for s in samples])
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in samples])
        with torch.no_grad():
            batched = model(ids, images, attention_mask=mask)
            singles = [model(torch.tensor([samples[0]]), images[:1]), model(torch.tensor([samples[1]])),
                       model(torch.tensor([samples[2]]), images[1:])]
        for b, single in enumerate(singles):
            length = single.lengths[0]
            self.assertEqual(batched.lengths[b], length)
            self.assertTrue(torch.allclose(batched.logits[b, :length], single.logits[0], atol=1e-5), b)
            self.assertEqual([d.expert for d in batched.traces[b].decisions],
                             [d.expert for d in single.traces[0].decisions])

    def test_placeholder_and_image_counts_must_agree(self):
        model = tiny_model(tiny_config())
        with self.assertRaisesRegex(ValueError, "only 0 images"):
            model(torch.tensor([prompt()]))
        with self.assertRaisesRegex(ValueError, "2 images were given for 1"):
            model(torch.tensor([prompt()]), pixels(2))


class ConvExpertModelTest(unittest.TestCase):
    def test_fresh_conv_experts_equal_average_pooling(self):
        conv_model = tiny_model(tiny_config(pooling(pooling_function="conv")))
        avg_model = tiny_model(tiny_config(pooling(pooling_function="avg")))
        avg_model.load_state_dict({k: v for k, v in conv_model.state_dict().items() if ".experts." not in k})
        for model in (conv_model, avg_model):
            prefer_expert(model.decoder.layers[1].pooling_router, 2)
            prefer_expert(model.decoder.layers[3].pooling_router, 1)
        with torch.no_grad():
            conv = conv_model(torch.tensor([prompt()]), pixels())
            avg = avg_model(torch.tensor([prompt()]), pixels())
        self.assertEqual(conv.lengths, [len(prompt()) - 1 + 8])
        self.assertTrue(torch.allclose(conv.logits, avg.logits, atol=1e-5))


if __name__ == "__main__":
    unittest.main()
