"""A hand-written torch reference of LLaVA-1.5 with Dynamic Pooling Experts (DPN), see /work/shared/DPN.md."""

from .checkpoint import load_model, save_model
from .config import DpeLayerConfig, LlavaConfig, PoolingConfig, TextConfig, VisionConfig
from .generate import Sampling, generate, request_stats
from .model import LlavaForConditionalGeneration, LlavaOutput
