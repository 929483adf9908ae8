import unittest

import torch

from dpn_ref.config import TextConfig
from dpn_ref.flops import decoder_layer_flops, llm_prefill_flops
from dpn_ref.generate import Sampling, generate, next_token
from tiny import pixels, pooling, prefer_expert, prompt, tiny_config, tiny_model


class NextTokenTest(unittest.TestCase):
    LOGITS = torch.log(torch.tensor([0.05, 0.5, 0.15, 0.3]))

    def draws(self, sampling, count=400):
        generator = torch.Generator().manual_seed(sampling.seed)
        return [next_token(self.LOGITS, sampling, generator) for _ in range(count)]

    def test_greedy_takes_the_argmax(self):
        self.assertEqual(set(self.draws(Sampling(), count=5)), {1})

    def test_seeded_draws_repeat(self):
        sampling = Sampling(temperature=1.0, seed=7)
        self.assertEqual(self.draws(sampling), self.draws(sampling))
        self.assertEqual(set(self.draws(sampling)), {0, 1, 2, 3})

    def test_top_k_keeps_the_k_best(self):
        self.assertEqual(set(self.draws(Sampling(temperature=1.0, top_k=2))), {1, 3})
        self.assertEqual(set(self.draws(Sampling(temperature=1.0, top_k=1))), {1})

    def test_top_p_keeps_the_smallest_head_reaching_p(self):
        self.assertEqual(set(self.draws(Sampling(temperature=1.0, top_p=0.7))), {1, 3})
        self.assertEqual(set(self.draws(Sampling(temperature=1.0, top_p=0.9))), {1, 2, 3})
        self.assertEqual(set(self.draws(Sampling(temperature=1.0, top_p=0.1))), {1})


class GenerateTest(unittest.TestCase):
    def test_stops_at_eos(self):
        model = tiny_model(tiny_config())
        with torch.no_grad():
            model.language_model.lm_head.weight.zero_()  # all logits equal: argmax is token 0
        result = generate(model, prompt(), pixels(), max_new_tokens=5, eos_token_id=0)
        self.assertEqual((result.tokens, result.stopped_at_eos), ([], True))
        result = generate(model, prompt(), pixels(), max_new_tokens=5, eos_token_id=2)
        self.assertEqual((result.tokens, result.stopped_at_eos), ([0] * 5, False))

    def test_greedy_generation_is_repeatable_and_keeps_training_mode(self):
        model = tiny_model(tiny_config(pooling())).train()
        first = generate(model, prompt(), pixels(), max_new_tokens=6)
        self.assertTrue(model.training)
        self.assertEqual(generate(model, prompt(), pixels(), max_new_tokens=6).tokens, first.tokens)
        self.assertEqual(len(first.tokens), 6)

    def test_stats_report_experts_stages_and_flops(self):
        model = tiny_model(tiny_config(pooling()))
        prefer_expert(model.decoder.layers[1].pooling_router, 1)
        prefer_expert(model.decoder.layers[3].pooling_router, 2)
        stats = generate(model, prompt(), pixels(), max_new_tokens=1).stats
        self.assertEqual([(d.layer, d.expert, d.kernel, d.grid_out) for d in stats.dpe],
                         [(1, 1, (1, 2), (8, 4)), (3, 2, (2, 2), (4, 2))])
        self.assertAlmostEqual(sum(stats.dpe[0].probs), 1.0, places=5)
        text = len(prompt()) - 1
        self.assertEqual([(s.first_layer, s.last_layer, s.tokens, s.grid) for s in stats.stages],
                         [(0, 1, text + 64, (8, 8)), (2, 3, text + 32, (8, 4)), (4, 5, text + 8, (4, 2))])
        self.assertEqual([s.visual_tokens for s in stats.stages], [64, 32, 8])
        config = model.config.text_config
        self.assertEqual(stats.prefill_flops, llm_prefill_flops([text + 64] * 2 + [text + 32] * 2 + [text + 8] * 2,
                                                                config))
        self.assertEqual(stats.prefill_flops_unpooled, 6 * decoder_layer_flops(text + 64, 32, 64))
        self.assertGreater(stats.vision_flops, 0)


class FlopsTest(unittest.TestCase):
    """DPN.md §5: LLaVA-1.5-7B with ~60 text tokens saves ~60% of prefill FLOPs at ×4, ~48% at ×2."""

    def saving(self, reduction):
        text, visual = 60, 576
        lengths = []
        for stage in range(4):  # layers 0-7, 8-15, 16-23, 24-31 (DPE post layers 7, 15, 23)
            lengths += [text + visual // reduction ** stage] * 8
        config = TextConfig()
        return 1 - llm_prefill_flops(lengths, config) / llm_prefill_flops([text + visual] * 32, config)

    def test_layer_formula(self):
        self.assertEqual(decoder_layer_flops(2, 3, 5), 8 * 2 * 9 + 4 * 4 * 3 + 6 * 2 * 3 * 5)

    def test_pyramid_savings_of_the_7b_model(self):
        self.assertAlmostEqual(self.saving(4), 0.60, delta=0.01)
        self.assertAlmostEqual(self.saving(2), 0.48, delta=0.01)


if __name__ == "__main__":
    unittest.main()
