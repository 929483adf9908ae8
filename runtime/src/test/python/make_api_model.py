"""A small random DPN-LLaVA with the real Llama-2 tokenizer, for the public API's tests (DpnModelTest).

Untrained, so its answers mean nothing; what the tests check is the plumbing around the model: prompts through the
real tokenizer, images through preprocessing, routing statistics, streaming, limits and errors. Its numbers are
checked elsewhere (ModelGoldenTest). Vocabulary 32003 (Llama-2 + <image>, <pad>, <ROUTER>) with tied embeddings,
a 4x4 visual grid (image 56 px, patch 14) and DPE at decoder layers 0 and 1, experts {1x1, 1x2, 2x2}: the first
DPE layer pools 16 tokens, the second finds fewer than 16 and is skipped. Context 160 tokens, so that a long
question overflows it. The tests add the tokenizer files from tokenizer/assets.

Run from the repository root with Debian's torch: /usr/bin/python3 runtime/src/test/python/make_api_model.py
"""

import shutil
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "reference"))

from dpn_ref.checkpoint import save_model  # noqa: E402
from dpn_ref.config import LlavaConfig  # noqa: E402
from dpn_ref.model import LlavaForConditionalGeneration  # noqa: E402

OUT = ROOT / "runtime/src/test/resources/api-model"
EXPERTS = [[1, 1], [1, 2], [2, 2]]


def main():
    torch.manual_seed(20250326)
    config = LlavaConfig.from_dict({
        "vision_config": {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
                          "num_attention_heads": 2, "image_size": 56, "patch_size": 14},
        "text_config": {"vocab_size": 32003, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
                        "num_attention_heads": 4, "rms_norm_eps": 1e-5, "max_position_embeddings": 160},
        "image_token_index": 32000,
        "tie_word_embeddings": True,
        "pooling": {"pooling_type": "adaptive", "pooling_function": "max", "pooling_location": "post",
                    "router_version": "v1", "use_special_token": True,
                    "pooling_layers": [{"index": i, "kernel_size": EXPERTS, "stride": EXPERTS} for i in (0, 1)]},
    })
    model = LlavaForConditionalGeneration(config, router_token_id=32002)
    if OUT.exists():
        shutil.rmtree(OUT)
    save_model(model, OUT, dtype=torch.float16)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
