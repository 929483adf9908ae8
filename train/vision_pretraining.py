"""Pretraining of the vision tower on the scenes' attributes, as LLaVA starts from a pretrained CLIP.

One linear classifier per attribute (data.ATTRIBUTE_CLASSES) reads the mean of the patch tokens at the layer
LLaVA uses, so the attributes must be readable from the patch tokens the projector will get. A step costs a
quarter of a LLaVA step per image (the tower alone, no 256-token decoder pass), which makes this the cheap
way to teach the tower to see; the heads are thrown away afterwards.
"""

import torch.nn.functional as F
from torch import nn

from data import ATTRIBUTE_CLASSES, attribute_batch


class AttributeHeads(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_size)
        self.heads = nn.ModuleDict({attribute: nn.Linear(hidden_size, len(classes))
                                    for attribute, classes in ATTRIBUTE_CLASSES.items()})

    def forward(self, patch_tokens):
        """Logits per attribute from the patch tokens (images, patches, d)."""
        pooled = self.norm(patch_tokens.mean(dim=1))
        return {attribute: head(pooled) for attribute, head in self.heads.items()}


class AttributeObjective:
    """The summed cross-entropy of all attribute heads on a batch of training images."""

    def __init__(self, model):
        self.model = model
        self.heads = AttributeHeads(model.config.vision_config.hidden_size)

    def parameters(self):
        return list(self.model.vision_tower.parameters()) + list(self.heads.parameters())

    def __call__(self, first, size):
        batch = attribute_batch(first, size)
        tower = self.model.vision_tower.vision_model
        hidden = tower.hidden_state(batch.pixel_values, self.model.config.vision_layers_used)[:, 1:]
        logits = self.heads(hidden)
        loss = sum(F.cross_entropy(logits[a], batch.labels[a]) for a in logits)
        metrics = {f"{a} accuracy": (logits[a].argmax(-1) == batch.labels[a]).float().mean().item() for a in logits}
        return loss, metrics, []
