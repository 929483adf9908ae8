import unittest

import torch

from dpn_ref.config import DpeLayerConfig, PoolingConfig
from dpn_ref.pooling import (PoolingDecision, PoolingPass, SampleTrace, conv_experts, pool_span, routing_loss)
from dpn_ref.sequence import Sample, SequenceBatch, VisualSpan


def numbered_grid(height, width, channels=1):
    """Token i of the row-major grid carries the value i in every channel."""
    return torch.arange(height * width, dtype=torch.float32)[:, None].repeat(1, channels)


def text_and_grid(height, width, before=3, after=4, size=2):
    """A sample with `before` text tokens (-1), the numbered grid, then `after` text tokens (-2)."""
    hidden = torch.cat([torch.full((before, size), -1.0), numbered_grid(height, width, size),
                        torch.full((after, size), -2.0)])
    return Sample(hidden, torch.zeros(hidden.shape[0], dtype=torch.bool), None, VisualSpan(before, height, width))


def static_pass(batch, kernels, indices=None, function="max", location="post"):
    indices = indices or list(range(len(kernels)))
    pooling = PoolingConfig("static", [DpeLayerConfig(i, (k,), (k,)) for i, k in zip(indices, kernels)],
                            pooling_function=function, pooling_location=location)
    return PoolingPass(pooling, [], batch)


class PoolSpanTest(unittest.TestCase):
    def test_pyramid_24x24_to_24x12_to_12x6_to_6x3(self):
        tokens, grid = numbered_grid(24, 24), (24, 24)
        tokens, grid = pool_span(tokens, grid, (1, 2), (1, 2), "max")
        self.assertEqual(grid, (24, 12))
        # Row r, column c of the result is the max of tokens 24r+2c and 24r+2c+1.
        self.assertEqual(tokens[:3, 0].tolist(), [1, 3, 5])
        self.assertEqual(tokens[12, 0].item(), 25)
        tokens, grid = pool_span(tokens, grid, (2, 2), (2, 2), "max")
        self.assertEqual(grid, (12, 6))
        self.assertEqual(tokens[0, 0].item(), 24 + 3)
        tokens, grid = pool_span(tokens, grid, (2, 2), (2, 2), "max")
        self.assertEqual(grid, (6, 3))
        self.assertEqual(tokens[-1, 0].item(), 575)

    def test_odd_grid_drops_the_remainder(self):
        tokens, grid = pool_span(numbered_grid(5, 7), (5, 7), (2, 2), (2, 2), "max")
        self.assertEqual(grid, (2, 3))
        self.assertEqual(tokens[:, 0].tolist(), [8, 10, 12, 22, 24, 26])
        tokens, grid = pool_span(numbered_grid(5, 7), (5, 7), (2, 2), (2, 2), "avg")
        self.assertEqual(tokens[:, 0].tolist(), [4, 6, 8, 18, 20, 22])

    def test_identity_expert_keeps_tokens(self):
        tokens = torch.randn(12, 3)
        pooled, grid = pool_span(tokens, (3, 4), (1, 1), (1, 1), "max")
        self.assertEqual(grid, (3, 4))
        self.assertTrue(torch.equal(pooled, tokens))

    def test_conv_experts_start_as_average_pooling(self):
        dpe = DpeLayerConfig(0, ((1, 1), (1, 2), (2, 2)), ((1, 1), (1, 2), (2, 2)))
        experts = conv_experts(4, dpe)
        self.assertEqual(tuple(experts[2].weight.shape), (4, 1, 2, 2))
        tokens = torch.randn(6 * 4, 4)
        for number, kernel in enumerate(dpe.kernel_sizes):
            with self.subTest(kernel=kernel), torch.no_grad():
                by_conv, grid = pool_span(tokens, (6, 4), kernel, kernel, "conv", experts[number])
                by_avg, _ = pool_span(tokens, (6, 4), kernel, kernel, "avg")
                # Same sums in a different order: f32 rounding only.
                self.assertTrue(torch.allclose(by_conv, by_avg, atol=1e-6))


class PoolingPassTest(unittest.TestCase):
    def test_span_is_replaced_and_text_is_untouched(self):
        batch = SequenceBatch.of([text_and_grid(4, 6)])
        pooled = static_pass(batch, [(2, 2)]).after_layer(0, batch)
        self.assertEqual(pooled.lengths, [3 + 6 + 4])
        self.assertEqual(pooled.spans[0], VisualSpan(3, 2, 3))
        self.assertTrue(torch.equal(pooled.hidden[0, :3], batch.hidden[0, :3]))
        self.assertEqual(pooled.hidden[0, 3:9, 0].tolist(), [7, 9, 11, 19, 21, 23])
        self.assertTrue(torch.equal(pooled.hidden[0, 9:], batch.hidden[0, -4:]))

    def test_grid_is_tracked_across_layers(self):
        batch = SequenceBatch.of([text_and_grid(24, 24)])
        pooling_pass = static_pass(batch, [(1, 2), (2, 2), (2, 2)], indices=[0, 1, 2])
        for layer in range(4):
            batch = pooling_pass.after_layer(layer, pooling_pass.before_layer(layer, batch))
        trace = pooling_pass.traces[0]
        self.assertEqual(trace.layer_grids, [(24, 24), (24, 12), (12, 6), (6, 3)])
        self.assertEqual(trace.layer_lengths, [583, 295, 79, 25])
        self.assertEqual([d.grid_out for d in trace.decisions], [(24, 12), (12, 6), (6, 3)])

    def test_pre_location_pools_the_layer_input(self):
        batch = SequenceBatch.of([text_and_grid(4, 4)])
        pooling_pass = static_pass(batch, [(2, 2)], location="pre")
        self.assertEqual(pooling_pass.before_layer(0, batch).lengths, [3 + 4 + 4])
        self.assertEqual(pooling_pass.traces[0].layer_lengths, [11])
        self.assertEqual(pooling_pass.after_layer(0, batch).lengths, [23])

    def test_skip_rules(self):
        cases = [  # (grid, experts, expected reason)
            ((3, 5), ((2, 2),), "15 visual tokens < 16"),
            ((4, 4), ((5, 5),), "16 visual tokens < largest kernel area 25"),
            ((1, 20), ((2, 2),), r"kernel \(2, 2\) does not fit grid \(1, 20\)"),
        ]
        for grid, (kernel,), reason in cases:
            with self.subTest(reason):
                batch = SequenceBatch.of([text_and_grid(*grid)])
                pooling_pass = static_pass(batch, [kernel])
                after = pooling_pass.after_layer(0, batch)
                self.assertTrue(torch.equal(after.hidden, batch.hidden))
                self.assertEqual(after.spans, batch.spans)
                self.assertRegex(pooling_pass.traces[0].decisions[0].skipped, reason)

    def test_sample_without_image_is_left_alone(self):
        sample = text_and_grid(4, 4)
        text_only = Sample(sample.hidden[:5], sample.router_mask[:5], None, None)
        batch = SequenceBatch.of([sample, text_only])
        after = static_pass(batch, [(2, 2)]).after_layer(0, batch)
        self.assertEqual(after.lengths, [11, 5])
        self.assertTrue(torch.equal(after.hidden[1, :5], text_only.hidden))

    def test_random_pooling_is_uniform_and_seeded(self):
        experts = ((1, 1), (1, 2), (2, 2))
        pooling = PoolingConfig("random", [DpeLayerConfig(0, experts, experts)])
        batch = SequenceBatch.of([text_and_grid(4, 4)] * 300)

        def choices(seed):
            pooling_pass = PoolingPass(pooling, [], batch, generator=torch.Generator().manual_seed(seed))
            pooling_pass.after_layer(0, batch)
            return [trace.decisions[0].expert for trace in pooling_pass.traces]

        first = choices(5)
        self.assertEqual(first, choices(5))
        # Each expert has p = 1/3: 100 expected of 300, and 60 lies more than 5 standard deviations below.
        self.assertTrue(all(first.count(e) > 60 for e in range(3)), first)


class RoutingLossTest(unittest.TestCase):
    @staticmethod
    def trace(*decisions):
        trace = SampleTrace(0, None)
        trace.decisions = [PoolingDecision(layer, None, None, probs=torch.tensor(p)) for layer, p in decisions]
        return trace

    def test_hinge_per_layer_then_mean(self):
        traces = [
            self.trace((7, [0.2, 0.3, 0.5]), (15, [0.1, 0.1, 0.8])),  # s·p: 2·0.5 = 1.0 and 2·0.8 = 1.6
            self.trace((7, [0.6, 0.3, 0.1]), (15, [0.1, 0.1, 0.8])),  # 0·0.6 = 0 and 1.6
        ]
        # Layer 7: max(0, 1.5 − mean(1.0, 0)) = 1.0; layer 15: max(0, 1.5 − 1.6) = 0.
        self.assertAlmostEqual(routing_loss(traces).item(), 0.5, places=6)

    def test_middle_expert_and_two_expert_layer(self):
        traces = [self.trace((3, [0.25, 0.7, 0.05]), (5, [0.4, 0.6]))]
        # Layer 3: 1.5 − 1·0.7 = 0.8; layer 5 (experts ×1, ×4): 1.5 − 1·0.6 = 0.9.
        self.assertAlmostEqual(routing_loss(traces).item(), 0.85, places=6)

    def test_skipped_layers_do_not_count(self):
        skipped = SampleTrace(0, None)
        skipped.decisions = [PoolingDecision(7, None, None, skipped="no visual tokens")]
        self.assertIsNone(routing_loss([skipped]))


if __name__ == "__main__":
    unittest.main()
