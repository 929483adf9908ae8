package dev.dpn.runtime.synthetic;

import dev.dpn.loader.config.DpeLayer;
import dev.dpn.loader.config.Kernel;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.loader.config.TextConfig;
import dev.dpn.loader.config.VisionConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The model shapes a random checkpoint can take: the released LLaVA-1.5 sizes as llava-hf ships them (vocabulary
 * padded to 32064, {@code <image>} = 32000), each with DPN's adaptive pooling, and a tiny one for tests.
 */
public enum ModelShape {
    /**
     * Small widths, the real vocabulary (so the real tokenizer works): an 8×8 patch grid (112 px, patch 14) is big
     * enough for two DPE layers to pool, and the third finds too few tokens and is skipped. Three CLIP layers, so
     * that, as in the real tower, the last one is stored but never run.
     */
    TINY("tiny", new VisionConfig(32, 128, 3, 2, 3, 112, 14, 1e-5, "quick_gelu"), llama(64, 176, 4, 4)),
    /** llava-hf/llava-1.5-7b-hf: CLIP ViT-L/14 at 336 px, the mlp2x_gelu projector, Vicuna-7B v1.5. */
    LLAVA_7B("7b", VisionConfig.CLIP_VIT_LARGE_336, llama(4096, 11008, 32, 32)),
    /** llava-hf/llava-1.5-13b-hf: the same vision tower, Vicuna-13B v1.5. */
    LLAVA_13B("13b", VisionConfig.CLIP_VIT_LARGE_336, llama(5120, 13824, 40, 40));

    /** llava-hf's embedding and LM head rows: Llama's 32000 pieces and the added tokens, padded to a multiple of 64. */
    public static final int VOCAB_SIZE = 32064;
    public static final int IMAGE_TOKEN_INDEX = 32000;
    /** The experts of the released DPN checkpoints, at every DPE layer: ×1, ×2 and ×4 fewer tokens. */
    private static final List<Kernel> EXPERTS = List.of(new Kernel(1, 1), new Kernel(1, 2), new Kernel(2, 2));

    private final String cliName;
    private final VisionConfig vision;
    private final TextConfig text;

    ModelShape(String cliName, VisionConfig vision, TextConfig text) {
        this.cliName = cliName;
        this.vision = vision;
        this.text = text;
    }

    /** The name {@code dpn random-model --shape} takes. */
    public String cliName() {
        return cliName;
    }

    /** The llava-hf config of this shape, with adaptive pooling (see {@link #dpeLayers}). */
    public LlavaConfig config() {
        PoolingConfig pooling = new PoolingConfig(PoolingConfig.Type.ADAPTIVE, dpeLayers(text.numHiddenLayers()),
                PoolingConfig.Function.MAX, PoolingConfig.Location.POST, PoolingConfig.RouterVersion.V1, true, false,
                false);
        return new LlavaConfig(vision, text, pooling, IMAGE_TOKEN_INDEX, -2, LlavaConfig.FeatureSelect.DEFAULT,
                "gelu", false, List.of());
    }

    /**
     * DPE layers after each quarter of the decoder but the last, {@code k·L/4 − 1} for k = 1, 2, 3: DPN's 7, 15 and
     * 23 for 32 layers; for the 13B's 40 (no released DPN checkpoint), 9, 19 and 29, the same proportions.
     */
    static List<DpeLayer> dpeLayers(int decoderLayers) {
        List<DpeLayer> layers = new ArrayList<>();
        for (int quarter = 1; quarter <= 3; quarter++) {
            layers.add(new DpeLayer(quarter * decoderLayers / 4 - 1, EXPERTS));
        }
        return List.copyOf(layers);
    }

    private static TextConfig llama(int hidden, int intermediate, int layers, int heads) {
        return new TextConfig(VOCAB_SIZE, hidden, intermediate, layers, heads, heads, 1e-5, 10000.0, 4096, "silu");
    }
}
