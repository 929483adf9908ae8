"""LLaVA-1.5 with Dynamic Pooling Experts: CLIP vision tower → mlp2x_gelu projector → Llama decoder.

Module names follow llava-hf (transformers 4.x), so `state_dict()` is the checkpoint layout of DPN.md §4.

Inputs: `input_ids` (batch, tokens), right-padded as `attention_mask` says; a sample holds at most one image
placeholder id (`config.image_token_index`), which expands to that image's visual tokens. `labels` are
aligned with `input_ids` (-100 = not supervised) and shifted inside the loss, as in transformers.
"""

from dataclasses import dataclass
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .activations import activation
from .clip import ClipVisionModel
from .llama import LayerKvCache, LlamaForCausalLM
from .pooling import ROUTING_LOSS_WEIGHT, PoolingPass, SampleTrace, attach_dpe_modules, routing_loss
from .sequence import IGNORE_LABEL, Sample, SequenceBatch, VisualSpan


class MultiModalProjector(nn.Module):
    """mlp2x_gelu: linear_2(gelu(linear_1(x)))."""

    def __init__(self, config):
        super().__init__()
        self.linear_1 = nn.Linear(config.vision_config.hidden_size, config.text_config.hidden_size)
        self.act = activation(config.projector_hidden_act, "projector_hidden_act")
        self.linear_2 = nn.Linear(config.text_config.hidden_size, config.text_config.hidden_size)

    def forward(self, x):
        return self.linear_2(self.act(self.linear_1(x)))


@dataclass
class LlavaOutput:
    """logits (batch, tokens, vocab) over the final, possibly pooled sequences, right-padded to `lengths`."""
    logits: torch.Tensor
    lengths: List[int]
    traces: List[SampleTrace]
    loss: Optional[torch.Tensor] = None
    ce_loss: Optional[torch.Tensor] = None
    routing_loss: Optional[torch.Tensor] = None


class LlavaForConditionalGeneration(nn.Module):
    def __init__(self, config, router_token_id=None):
        """`router_token_id` is the tokenizer's id of <ROUTER>, needed when the pooling config sets
        use_special_token."""
        super().__init__()
        config.validate()
        self.config = config
        self.router_token_id = router_token_id
        self.vision_tower = ClipVisionModel(config.vision_config)
        self.multi_modal_projector = MultiModalProjector(config)
        self.language_model = LlamaForCausalLM(config.text_config, config.tie_word_embeddings)
        if config.pooling is not None:
            attach_dpe_modules(self.decoder.layers, config.pooling, config.text_config.hidden_size)

    @property
    def decoder(self):
        return self.language_model.model

    def image_features(self, pixel_values):
        """Projected visual tokens (images, n, d) and their grid (h, w)."""
        config = self.config
        hidden = self.vision_tower.vision_model.hidden_state(pixel_values, config.vision_layers_used)
        side = config.vision_config.grid_size
        if config.vision_feature_select_strategy == "full":
            # The class token makes the span no grid; it is only ever counted, never pooled (see config).
            return self.multi_modal_projector(hidden), (1, hidden.shape[1])
        hidden = hidden[:, 1:]
        grid = (side, side)
        if config.pooling is not None and config.pooling.prepooling:
            # The authors' vision-side option: 2×2 average pooling of the patch grid before the projector.
            image = hidden.transpose(1, 2).reshape(hidden.shape[0], -1, side, side)
            image = F.avg_pool2d(image, kernel_size=2, stride=2)
            grid = tuple(image.shape[2:])
            hidden = image.flatten(2).transpose(1, 2)
        return self.multi_modal_projector(hidden), grid

    def forward(self, input_ids, pixel_values=None, attention_mask=None, labels=None, prompt_lengths=None,
                caches=None, generator=None):
        """Prefill (or training step) over a batch.

        prompt_lengths: per sample, how many ids form the prompt, where the routers look for <ROUTER> or,
            without it, take the last token. Default: the ids before the first label, else all ids.
        caches: from new_caches(); filled with each layer's keys and values (batch size 1 only).
        generator: drives expert sampling (training) and random pooling.
        """
        if caches is not None and (input_ids.shape[0] != 1 or any(cache.length for cache in caches)):
            raise ValueError("caches need a batch of one sequence and fresh caches from new_caches()")
        batch, traces = self._run_decoder(input_ids, pixel_values, attention_mask, labels, prompt_lengths, caches,
                                          generator)
        output = LlavaOutput(self.language_model.lm_head(batch.hidden), batch.lengths, traces)
        if labels is not None:
            _set_losses(output, output.logits[:, :-1].flatten(0, 1), batch.labels[:, 1:].flatten())
        return output

    def training_loss(self, input_ids, pixel_values=None, attention_mask=None, labels=None, generator=None):
        """The losses of forward(labels=...), projecting onto the vocabulary only where a label is predicted.

        Over a tiny model's ~300 mostly visual positions the full projection onto 32k words would dominate
        the training step. `logits` holds the supervised positions only, in batch order.
        """
        batch, traces = self._run_decoder(input_ids, pixel_values, attention_mask, labels, None, None, generator)
        targets = batch.labels[:, 1:]
        predicting = targets != IGNORE_LABEL
        output = LlavaOutput(self.language_model.lm_head(batch.hidden[:, :-1][predicting]), batch.lengths, traces)
        _set_losses(output, output.logits, targets[predicting])
        return output

    def _run_decoder(self, input_ids, pixel_values, attention_mask, labels, prompt_lengths, caches, generator):
        """The final (normed) hidden states of the possibly pooled sequences, and the pooling traces."""
        batch = self._embed(input_ids, pixel_values, attention_mask, labels, prompt_lengths)
        pooling_pass = PoolingPass(self.config.pooling, self.decoder.layers, batch, self.training, generator)
        return self.decoder(batch, pooling_pass, caches), pooling_pass.traces

    def new_caches(self):
        return [LayerKvCache() for _ in self.decoder.layers]

    def decode_step(self, token_id, caches):
        """Logits (vocab,) after appending one token to the sequence held by `caches`."""
        hidden = self.decoder.embed_tokens(torch.tensor([[token_id]]))
        return self.language_model.lm_head(self.decoder.decode(hidden, caches))[0, -1]

    def _embed(self, input_ids, pixel_values, attention_mask, labels, prompt_lengths):
        lengths = _sequence_lengths(input_ids, attention_mask)
        features, grid = (None, None) if pixel_values is None else self.image_features(pixel_values)
        image_count = 0 if features is None else features.shape[0]
        vocab_size = self.config.text_config.vocab_size
        inside = torch.arange(input_ids.shape[1])[None, :] < torch.tensor(lengths)[:, None]
        text_ids = input_ids.masked_fill((input_ids == self.config.image_token_index) | ~inside, 0)
        invalid = ((text_ids < 0) | (text_ids >= vocab_size)).any(dim=1).nonzero().flatten().tolist()
        if invalid:
            b = invalid[0]
            raise ValueError(f"sample {b}: token ids must lie in [0, {vocab_size}), "
                             f"got {input_ids[b, :lengths[b]].tolist()}")
        # One lookup and one split for the whole batch: in training, per-sample lookups and indexing each
        # cost a full-size gradient buffer.
        embedded = self.decoder.embed_tokens(text_ids)
        images = () if features is None else features.unbind(0)
        samples = []
        next_image = 0
        for b, length in enumerate(lengths):
            ids = input_ids[b, :length]
            image_at = (ids == self.config.image_token_index).nonzero().flatten().tolist()
            if len(image_at) > 1:
                raise ValueError(f"sample {b} has {len(image_at)} image placeholders; one image per sample")
            sample_labels = None if labels is None else labels[b, :length]
            prompt_length = None if prompt_lengths is None else prompt_lengths[b]
            # The placeholder is a 1×1 span that the image's visual tokens replace.
            placeholder = VisualSpan(image_at[0], 1, 1) if image_at else None
            router_mask = self._router_mask(b, ids, sample_labels, prompt_length)
            sample = Sample(embedded[b, :length], router_mask, sample_labels, placeholder)
            if placeholder is not None:
                if next_image == image_count:
                    raise ValueError(f"sample {b} has an image placeholder but only {image_count} images were given")
                sample = sample.with_span(images[next_image], *grid)
                next_image += 1
            samples.append(sample)
        if next_image != image_count:
            raise ValueError(f"{image_count} images were given for {next_image} image placeholders")
        return SequenceBatch.of(samples)

    def _router_mask(self, b, ids, labels, prompt_length):
        """The positions (in ids) whose hidden states the routers average: the <ROUTER> tokens of the prompt,
        or its last token."""
        mask = torch.zeros(ids.shape[0], dtype=torch.bool)
        pooling = self.config.pooling
        if pooling is None or pooling.pooling_type != "adaptive":
            return mask
        if prompt_length is None:
            supervised = [] if labels is None else (labels != IGNORE_LABEL).nonzero().flatten().tolist()
            prompt_length = supervised[0] if supervised else ids.shape[0]
        if not 1 <= prompt_length <= ids.shape[0]:
            raise ValueError(f"sample {b}: prompt length {prompt_length} outside its {ids.shape[0]} ids")
        if pooling.use_special_token:
            if self.router_token_id is None:
                raise ValueError("the pooling config sets use_special_token, but the model was built without "
                                 "router_token_id (the tokenizer's id of <ROUTER>)")
            mask[:prompt_length] = ids[:prompt_length] == self.router_token_id
            return mask
        if ids[prompt_length - 1] == self.config.image_token_index:
            raise ValueError(f"sample {b}: the last prompt token is the image placeholder; the router needs text")
        mask[prompt_length - 1] = True
        return mask


def _set_losses(output, logits, targets):
    """CE over the predicted positions (logits (positions, vocab), targets with IGNORE_LABEL elsewhere), plus
    the weighted routing loss."""
    output.ce_loss = F.cross_entropy(logits, targets, ignore_index=IGNORE_LABEL)
    output.routing_loss = routing_loss(output.traces)
    output.loss = output.ce_loss
    if output.routing_loss is not None:
        output.loss = output.loss + ROUTING_LOSS_WEIGHT * output.routing_loss


def _sequence_lengths(input_ids, attention_mask):
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must have shape (batch, tokens), got {tuple(input_ids.shape)}")
    batch, width = input_ids.shape
    if attention_mask is None:
        return [width] * batch
    lengths = attention_mask.long().sum(dim=1)
    expected = torch.arange(width)[None, :] < lengths[:, None]
    if attention_mask.shape != input_ids.shape or not torch.equal(attention_mask.bool(), expected) \
            or (lengths == 0).any():
        raise ValueError("attention_mask must be right-padded 1s then 0s, with at least one token per sample")
    return lengths.tolist()
