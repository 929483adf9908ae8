package dev.dpn.runtime;

import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.TextConfig;
import dev.dpn.loader.config.VisionConfig;
import java.util.List;

/**
 * FLOPs of a prefill as DPN.md §5 counts them: a multiply-add is 2 FLOPs; per decoder layer with n tokens, hidden d,
 * key/value width d_kv and MLP width m: {@code 4·n·d·(d + d_kv)} for the q, k, v, o projections ({@code 8·n·d²}
 * without grouped-query attention), {@code 4·n²·d} for scores and the weighted sum, {@code 6·n·d·m} for the MLP.
 */
public final class PrefillFlops {
    private PrefillFlops() {
    }

    /** One decoder layer over {@code n} tokens. */
    public static double decoderLayer(TextConfig text, long n) {
        double d = text.hiddenSize(), kv = text.kvDim(), m = text.intermediateSize();
        return 4.0 * n * d * (d + kv) + 4.0 * n * n * d + 6.0 * n * d * m;
    }

    /** The decoder's prefill with each layer's own token count. */
    public static double decoder(TextConfig text, List<Integer> tokensPerLayer) {
        return tokensPerLayer.stream().mapToDouble(n -> decoderLayer(text, n)).sum();
    }

    /** The decoder's prefill without pooling: every layer sees all {@code tokens}. */
    public static double decoderUnpooled(TextConfig text, long tokens) {
        return text.numHiddenLayers() * decoderLayer(text, tokens);
    }

    /**
     * The vision tower up to the selected layer (patch embedding, then per CLIP layer the same terms as a decoder
     * layer with a two-matrix MLP) plus the two-layer projector, for one image.
     */
    public static double visionAndProjector(LlavaConfig config, long visualTokens) {
        VisionConfig v = config.visionConfig();
        long n = v.patchCount() + 1;
        double dv = v.hiddenSize(), mv = v.intermediateSize();
        double patchEmbed = 2.0 * v.patchCount() * v.numChannels() * v.patchSize() * v.patchSize() * dv;
        double layer = 8.0 * n * dv * dv + 4.0 * n * n * dv + 4.0 * n * dv * mv;
        double d = config.textConfig().hiddenSize();
        double projector = 2.0 * visualTokens * dv * d + 2.0 * visualTokens * d * d;
        return patchEmbed + config.visionLayersUsed() * layer + projector;
    }
}
