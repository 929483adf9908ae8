import unittest

import torch
import torch.nn.functional as F

from dpn_ref.pooling import ROUTING_LOSS_WEIGHT, routing_loss
from tiny import ROUTER_ID, pixels, pooling, prefer_expert, prompt, tiny_config, tiny_model

ANSWER = [40, 41, 42, 2]


def example():
    ids = prompt() + ANSWER
    labels = [-100] * len(prompt()) + ANSWER
    return torch.tensor([ids]), torch.tensor([labels])


class TrainingTest(unittest.TestCase):
    def test_loss_is_cross_entropy_plus_weighted_routing_loss(self):
        model = tiny_model(tiny_config(pooling()))
        prefer_expert(model.decoder.layers[1].pooling_router, 2)
        ids, labels = example()
        with torch.no_grad():
            output = model(ids, pixels(), labels=labels)
        # The answer ends the pooled sequence: each answer token is predicted from the position before it.
        logits = output.logits[0]
        predicted_by = torch.arange(logits.shape[0] - len(ANSWER) - 1, logits.shape[0] - 1)
        by_hand = F.cross_entropy(logits[predicted_by], torch.tensor(ANSWER))
        self.assertAlmostEqual(output.ce_loss.item(), by_hand.item(), places=5)
        self.assertAlmostEqual(output.routing_loss.item(), routing_loss(output.traces).item(), places=6)
        self.assertGreater(output.routing_loss.item(), 0)
        expected = output.ce_loss + ROUTING_LOSS_WEIGHT * output.routing_loss
        self.assertAlmostEqual(output.loss.item(), expected.item(), places=6)

    def test_training_loss_equals_the_forward_loss(self):
        model = tiny_model(tiny_config(pooling())).train()
        ids, labels = example()
        ids, labels = torch.cat([ids, ids]), torch.cat([labels, labels])
        labels[1, -len(ANSWER):-2] = -100  # the second sample supervises fewer tokens
        full = model(ids, pixels(2), labels=labels, generator=torch.Generator().manual_seed(3))
        cheap = model.training_loss(ids, pixels(2), labels=labels, generator=torch.Generator().manual_seed(3))
        self.assertEqual(cheap.logits.shape, (len(ANSWER) + 2, full.logits.shape[-1]))
        for name in ("loss", "ce_loss", "routing_loss"):
            # The same sums in a different order of positions: f32 rounding only.
            self.assertAlmostEqual(getattr(cheap, name).item(), getattr(full, name).item(), places=5, msg=name)

    def test_sampling_avoids_experts_leaving_fewer_than_18_tokens(self):
        model = tiny_model(tiny_config(pooling())).train()
        router = model.decoder.layers[1].pooling_router
        prefer_expert(router, 2)  # ×4 would leave 64 / 4 = 16 < 18 visual tokens
        generator = torch.Generator().manual_seed(0)
        ids, labels = example()
        chosen = []
        with torch.no_grad():
            for _ in range(20):
                output = model(ids, pixels(), labels=labels, generator=generator)
                chosen.append(output.traces[0].decisions[0].expert)
        # Experts 0 and 1 keep equal probability (p = 0.045 each): each is drawn with chance 1/2.
        self.assertEqual(set(chosen), {0, 1}, chosen)

    def test_gradients_reach_routers_experts_and_the_router_embedding(self):
        model = tiny_model(tiny_config(pooling(pooling_function="conv"))).train()
        ids, labels = example()
        output = model(ids, pixels(), labels=labels, generator=torch.Generator().manual_seed(0))
        output.loss.backward()
        for index in (1, 3):
            layer = model.decoder.layers[index]
            self.assertGreater(layer.pooling_router.predictor.weight.grad.abs().sum().item(), 0)
            self.assertGreater(layer.pooling_router.mlp1[1].weight.grad.abs().sum().item(), 0)
            used = [d.expert for d in output.traces[0].decisions if d.layer == index][0]
            self.assertGreater(layer.experts[used].weight.grad.abs().sum().item(), 0)
        self.assertGreater(model.decoder.embed_tokens.weight.grad[ROUTER_ID].abs().sum().item(), 0)

    def test_detached_router_input(self):
        for detach in (False, True):
            with self.subTest(detach=detach):
                model = tiny_model(tiny_config(pooling(detach_cls_token_to_predict=detach))).train()
                inputs = []
                model.decoder.layers[1].pooling_router.register_forward_hook(
                    lambda _m, args, _o: inputs.append(args[0]))
                ids, labels = example()
                model(ids, pixels(), labels=labels, generator=torch.Generator().manual_seed(0))
                self.assertEqual(inputs[0].requires_grad, not detach)


if __name__ == "__main__":
    unittest.main()
