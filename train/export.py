"""Model folders in the llava-hf layout: F16 safetensors + config.json (checkpoint.py), the tokenizer files
and generation_config.json."""

import json
import shutil

import torch

from data import EOS_TOKEN_ID, PAD_TOKEN_ID, TOKENIZER_ASSETS
from dpn_ref.checkpoint import save_model

LLAVA_MODEL = "tiny-llava"
DPN_MODEL = "tiny-dpn-llava"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")
GENERATION_CONFIG = {"bos_token_id": 1, "eos_token_id": EOS_TOKEN_ID, "pad_token_id": PAD_TOKEN_ID,
                     "do_sample": False, "max_new_tokens": 32}


def export_model(model, folder):
    save_model(model, folder, dtype=torch.float16)
    for name in TOKENIZER_FILES:
        shutil.copyfile(TOKENIZER_ASSETS / name, folder / name)
    with open(folder / "generation_config.json", "w", encoding="utf-8") as file:
        json.dump(GENERATION_CONFIG, file, indent=2)
        file.write("\n")
