package dev.dpn.runtime.model;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.Backend;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.VisionConfig;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's vision transformer up to the hidden state LLaVA reads: patch embedding (a stride-P convolution), the
 * class token in front, learned positions added, pre_layrnorm, then the encoder layers up to
 * {@code vision_feature_layer}. {@code post_layernorm} and the layers after it never run.
 */
final class ClipVisionTower {
    private static final String PREFIX = "vision_tower.vision_model.";
    private static final Pattern ENCODER_LAYER =
            Pattern.compile(Pattern.quote(PREFIX + "encoder.layers.") + "(\\d{1,9})\\.");

    private final VisionConfig config;
    private final boolean dropClassToken;
    private final Tensor patchEmbedding;
    private final Tensor classEmbedding;
    private final Tensor positionEmbedding;
    private final LayerNorm preLayerNorm;
    private final List<ClipLayer> layers;

    private ClipVisionTower(VisionConfig config, boolean dropClassToken, Tensor patchEmbedding, Tensor classEmbedding,
            Tensor positionEmbedding, LayerNorm preLayerNorm, List<ClipLayer> layers) {
        this.config = config;
        this.dropClassToken = dropClassToken;
        this.patchEmbedding = patchEmbedding;
        this.classEmbedding = classEmbedding;
        this.positionEmbedding = positionEmbedding;
        this.preLayerNorm = preLayerNorm;
        this.layers = layers;
    }

    static ClipVisionTower load(CheckpointWeights weights, LlavaConfig llava, Activation activation) {
        VisionConfig c = llava.visionConfig();
        int d = c.hiddenSize(), p = c.patchSize();
        String embeddings = PREFIX + "embeddings.";
        List<ClipLayer> layers = new ArrayList<>();
        for (int i = 0; i < llava.visionLayersUsed(); i++) {
            layers.add(ClipLayer.load(weights, PREFIX + "encoder.layers." + i, c, activation));
        }
        return new ClipVisionTower(c, llava.visionFeatureSelectStrategy() == LlavaConfig.FeatureSelect.DEFAULT,
                weights.table(embeddings + "patch_embedding.weight", d, c.numChannels(), p, p),
                weights.vector(embeddings + "class_embedding", d),
                weights.vector(embeddings + "position_embedding.weight", c.patchCount() + 1, d),
                LayerNorm.load(weights, PREFIX + "pre_layrnorm", d, c.layerNormEps()),
                List.copyOf(layers));
    }

    /** Whether a checkpoint tensor belongs to the parts LLaVA never runs: post_layernorm and unused layers. */
    static boolean isUnused(String name, LlavaConfig llava) {
        if (name.startsWith(PREFIX + "post_layernorm.")) {
            return true;
        }
        Matcher layer = ENCODER_LAYER.matcher(name);
        if (!layer.lookingAt()) {
            return false;
        }
        int index = Integer.parseInt(layer.group(1));
        return index >= llava.visionLayersUsed() && index < llava.visionConfig().numHiddenLayers();
    }

    /** How many visual features {@link #forward} returns per image. */
    int featureCount() {
        return config.patchCount() + (dropClassToken ? 0 : 1);
    }

    /**
     * The selected hidden state of one image, class token dropped unless the config keeps it.
     *
     * @param pixels [C, S, S] F32, preprocessed
     * @param arena  where this request's activations live
     * @return [featureCount, D]
     */
    Tensor forward(Backend backend, TensorArena arena, Tensor pixels) {
        int size = config.imageSize();
        long[] expected = {config.numChannels(), size, size};
        if (pixels.dtype() != DType.F32 || !Arrays.equals(pixels.shape(), expected)) {
            throw new IllegalArgumentException("pixels must be F32 " + Arrays.toString(expected) + ", got " + pixels);
        }
        int tokens = config.patchCount() + 1;
        ClipLayer.Buffers buffers = ClipLayer.Buffers.allocate(backend, arena, config, tokens);
        Tensor x = backend.allocate(arena, DType.F32, tokens, config.hiddenSize());
        backend.copy(classEmbedding, x.rows(0, 1));
        backend.patchEmbed(pixels, patchEmbedding, null, x.rows(1, tokens));
        backend.add(x, positionEmbedding, x);
        preLayerNorm.apply(backend, x, x);
        for (ClipLayer layer : layers) {
            layer.forward(backend, x, buffers);
        }
        return dropClassToken ? x.rows(1, tokens) : x;
    }
}
