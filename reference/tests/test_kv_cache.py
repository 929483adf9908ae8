import unittest

import torch

from tiny import IMAGE_ID, pixels, pooling, prefer_expert, prompt, tiny_config, tiny_model

STEPS = 5


def variants():
    """(name, model) pairs covering every way a prefill can shape the sequence."""
    yield "none", tiny_model(tiny_config())
    yield "static post", tiny_model(tiny_config(pooling("static", experts=((2, 2), (1, 2)))))
    yield "static pre", tiny_model(tiny_config(pooling("static", experts=((1, 2), (2, 2)), pooling_location="pre")))
    yield "random", tiny_model(tiny_config(pooling("random")))
    adaptive = tiny_model(tiny_config(pooling()))
    prefer_expert(adaptive.decoder.layers[1].pooling_router, 1)
    prefer_expert(adaptive.decoder.layers[3].pooling_router, 2)
    yield "adaptive router token", adaptive
    yield "adaptive last token", tiny_model(tiny_config(pooling(use_special_token=False, router_version="v2")))
    yield "adaptive conv", tiny_model(tiny_config(pooling(pooling_function="conv")))


class KvCacheTest(unittest.TestCase):
    """Decoding with per-layer caches equals recomputing the whole sequence, the pooling decided at prefill."""

    def test_decode_equals_full_recompute(self):
        image = pixels()
        for name, model in variants():
            with self.subTest(name), torch.no_grad():
                ids = prompt(router=True)
                caches = model.new_caches()
                prefill = model(torch.tensor([ids]), image, caches=caches,
                                generator=torch.Generator().manual_seed(3))
                experts = [d.expert for d in prefill.traces[0].decisions]
                logits = prefill.logits[0, -1]
                tokens = []
                for _ in range(STEPS):
                    token = int(logits[:IMAGE_ID].argmax())  # a second image placeholder would be an error
                    tokens.append(token)
                    logits = model.decode_step(token, caches)
                    full = model(torch.tensor([ids + tokens]), image, prompt_lengths=[len(ids)],
                                 generator=torch.Generator().manual_seed(3))
                    self.assertEqual([d.expert for d in full.traces[0].decisions], experts)
                    # Same f32 arithmetic, but batched differently: rounding differences only.
                    self.assertTrue(torch.allclose(logits, full.logits[0, -1], atol=1e-4),
                                    (logits - full.logits[0, -1]).abs().max())
                lengths = [cache.length for cache in caches]
                self.assertEqual(lengths, [n + STEPS for n in prefill.traces[0].layer_lengths])

    def test_pooled_layers_keep_shorter_caches(self):
        model = tiny_model(tiny_config(pooling("static", experts=((2, 2), (1, 2)))))
        caches = model.new_caches()
        with torch.no_grad():
            model(torch.tensor([prompt()]), pixels(), caches=caches)
        text = len(prompt()) - 1
        # Layers 0-1 see 64 visual tokens, 2-3 see 16 (after 2×2), 4-5 see 8 (after 1×2).
        self.assertEqual([c.length for c in caches], [text + 64] * 2 + [text + 16] * 2 + [text + 8] * 2)

    def test_prefill_with_cache_needs_one_sequence_and_fresh_caches(self):
        model = tiny_model(tiny_config())
        caches = model.new_caches()
        with torch.no_grad():
            model(torch.tensor([prompt()]), pixels(), caches=caches)
            with self.assertRaisesRegex(ValueError, "fresh caches"):
                model(torch.tensor([prompt()]), pixels(), caches=caches)


if __name__ == "__main__":
    unittest.main()
