package dev.dpn.kernels;

/** Element-wise activations used by CLIP, the projector and Llama. */
public enum Activation {
    /** Exact GELU, {@code x·Φ(x)} with the error function (HF "gelu", the LLaVA projector). */
    GELU,
    /** GELU's tanh approximation (HF "gelu_pytorch_tanh" / "gelu_new"). */
    GELU_TANH,
    /** {@code x·sigmoid(1.702·x)}: OpenAI CLIP's activation. */
    QUICK_GELU,
    /** {@code x·sigmoid(x)}: Llama's SwiGLU gate. */
    SILU;

    /** The activation named by an HF config value ({@code hidden_act}, {@code projector_hidden_act}). */
    public static Activation fromConfigName(String name) {
        return switch (name) {
            case "gelu" -> GELU;
            case "gelu_pytorch_tanh", "gelu_new", "gelu_fast" -> GELU_TANH;
            case "quick_gelu" -> QUICK_GELU;
            case "silu", "swish" -> SILU;
            default -> throw new IllegalArgumentException("unsupported activation '" + name + "'");
        };
    }
}
