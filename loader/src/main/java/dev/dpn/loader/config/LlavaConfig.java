package dev.dpn.loader.config;

import dev.dpn.loader.JsonConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A llava-hf {@code config.json} with the DPN {@code pooling} section, as typed records. Absent keys take the
 * defaults of transformers' LlavaConfig, CLIPVisionConfig and LlamaConfig, so a terse llava-hf config reads as
 * transformers reads it.
 *
 * @param imageTokenIndex    the id of the {@code <image>} placeholder in prompts
 * @param visionFeatureLayer the CLIP hidden state LLaVA reads, negative counting from the end (−2: the output of
 *                           the second-to-last layer)
 * @param projectorHiddenAct the projector's activation, by its transformers name
 * @param warnings           what was read but ignored (unknown pooling keys), for the caller to show
 */
public record LlavaConfig(VisionConfig visionConfig, TextConfig textConfig, PoolingConfig pooling,
        int imageTokenIndex, int visionFeatureLayer, FeatureSelect visionFeatureSelectStrategy,
        String projectorHiddenAct, boolean tieWordEmbeddings, List<String> warnings) {

    /** {@code default} drops CLIP's class token from the visual tokens, {@code full} keeps it. */
    public enum FeatureSelect { DEFAULT, FULL }

    public LlavaConfig {
        warnings = List.copyOf(warnings);
    }

    /** How many CLIP encoder layers run: hidden state k (0 = the embeddings after pre_layrnorm) needs k layers. */
    public int visionLayersUsed() {
        int layers = visionConfig.numHiddenLayers();
        return visionFeatureLayer >= 0 ? visionFeatureLayer : layers + 1 + visionFeatureLayer;
    }

    /**
     * Reads and validates {@code file}.
     *
     * @throws dev.dpn.loader.ConfigException naming the file and key of the first problem
     * @throws IOException if the file cannot be read
     */
    public static LlavaConfig read(Path file) throws IOException {
        return from(JsonConfig.read(file));
    }

    static LlavaConfig from(JsonConfig c) {
        List<String> warnings = new ArrayList<>();
        VisionConfig vision = c.has("vision_config")
                ? VisionConfig.from(c.section("vision_config")) : VisionConfig.CLIP_VIT_LARGE_336;
        TextConfig text = c.has("text_config") ? TextConfig.from(c.section("text_config")) : TextConfig.LLAMA_DEFAULTS;
        PoolingConfig pooling = c.has("pooling") ? PoolingConfig.from(c.section("pooling"), warnings)
                : PoolingConfig.NONE;
        LlavaConfig config = new LlavaConfig(vision, text, pooling,
                c.getInt("image_token_index", c.getInt("image_token_id", 32000)),
                c.getInt("vision_feature_layer", -2),
                ConfigEnum.read(c, "vision_feature_select_strategy", FeatureSelect.class, FeatureSelect.DEFAULT),
                c.getString("projector_hidden_act", "gelu"),
                c.getBoolean("tie_word_embeddings", c.getBoolean("text_config.tie_word_embeddings", false)),
                warnings);
        int used = config.visionLayersUsed();
        if (used < 0 || used > vision.numHiddenLayers()) {
            throw c.invalid("vision_feature_layer", "a hidden state of the " + vision.numHiddenLayers()
                    + "-layer vision tower (from " + -(vision.numHiddenLayers() + 1) + " to "
                    + vision.numHiddenLayers() + ")");
        }
        if (pooling.type() != PoolingConfig.Type.NONE
                && config.visionFeatureSelectStrategy == FeatureSelect.FULL) {
            throw c.invalid("vision_feature_select_strategy",
                    "default when pooling (a grid of patch tokens; full keeps the class token)");
        }
        if (c.has("pooling")) {
            List<JsonConfig> entries = c.section("pooling").has("pooling_layers")
                    ? c.section("pooling").sections("pooling_layers") : List.of();
            for (int i = 0; i < entries.size(); i++) {
                if (pooling.layers().get(i).index() >= text.numHiddenLayers()) {
                    throw entries.get(i).invalid("index", "a layer of the " + text.numHiddenLayers()
                            + "-layer decoder (0 to " + (text.numHiddenLayers() - 1) + ")");
                }
            }
        }
        return config;
    }
}
