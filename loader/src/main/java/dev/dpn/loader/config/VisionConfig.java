package dev.dpn.loader.config;

import dev.dpn.loader.JsonConfig;

/**
 * The CLIP vision tower ({@code vision_config}); absent keys take the defaults of transformers' CLIPVisionConfig.
 *
 * @param hiddenAct the encoder MLP's activation, by its transformers name
 */
public record VisionConfig(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
        int numChannels, int imageSize, int patchSize, double layerNormEps, String hiddenAct) {

    /** transformers' CLIPVisionConfig defaults, for keys a vision_config leaves out. */
    public static final VisionConfig CLIP_DEFAULTS =
            new VisionConfig(768, 3072, 12, 12, 3, 224, 32, 1e-5, "quick_gelu");

    /** What LlavaConfig assumes when vision_config is absent: CLIP ViT-L/14 at 336 px. */
    public static final VisionConfig CLIP_VIT_LARGE_336 =
            new VisionConfig(1024, 4096, 24, 16, 3, 336, 14, 1e-5, "quick_gelu");

    /** Patches per image side. */
    public int gridSize() {
        return imageSize / patchSize;
    }

    /** Patch tokens per image, without the class token. */
    public int patchCount() {
        return gridSize() * gridSize();
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    static VisionConfig from(JsonConfig c) {
        VisionConfig d = CLIP_DEFAULTS;
        VisionConfig config = new VisionConfig(
                c.getPositiveInt("hidden_size", d.hiddenSize),
                c.getPositiveInt("intermediate_size", d.intermediateSize),
                c.getPositiveInt("num_hidden_layers", d.numHiddenLayers),
                c.getPositiveInt("num_attention_heads", d.numAttentionHeads),
                c.getPositiveInt("num_channels", d.numChannels),
                c.getPositiveInt("image_size", d.imageSize),
                c.getPositiveInt("patch_size", d.patchSize),
                c.getDouble("layer_norm_eps", d.layerNormEps),
                c.getString("hidden_act", d.hiddenAct));
        if (config.hiddenSize % config.numAttentionHeads != 0) {
            throw c.invalid("hidden_size", "divisible by num_attention_heads (" + config.numAttentionHeads + ")");
        }
        if (config.imageSize % config.patchSize != 0) {
            throw c.invalid("image_size", "a multiple of patch_size (" + config.patchSize + ")");
        }
        if (!(config.layerNormEps > 0)) {
            throw c.invalid("layer_norm_eps", "a positive number");
        }
        return config;
    }
}
