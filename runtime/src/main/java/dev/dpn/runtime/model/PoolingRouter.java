package dev.dpn.runtime.model;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.Backend;
import dev.dpn.loader.config.PoolingConfig.RouterVersion;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;

/**
 * The router of one DPE layer: expert probabilities {@code p = softmax(logits / 10)} from one hidden state.
 * v1: {@code LayerNorm → Linear(d, d/4) → GELU → Linear(d/4, E)}; v2: {@code Linear(d, E)}; no biases. The
 * weights sit beside the layer's own: {@code pooling_router.mlp1.0} (LayerNorm), {@code mlp1.1}, {@code predictor}.
 *
 * @param layerNorm null for v2
 * @param hidden    null for v2
 */
record PoolingRouter(LayerNorm layerNorm, Linear hidden, Linear predictor) {
    /** Softens the logits: the authors divide by 10 before the softmax. */
    private static final float TEMPERATURE = 10f;
    /** nn.LayerNorm's default epsilon, which the authors' router keeps. */
    private static final double LAYER_NORM_EPS = 1e-5;

    /** A request's scratch for running routers of width {@code d}. */
    record Buffers(Tensor normed, Tensor hidden, Tensor logits) {
        static Buffers allocate(Backend backend, TensorArena arena, int d, int maxExperts) {
            return new Buffers(backend.allocate(arena, DType.F32, 1, d),
                    backend.allocate(arena, DType.F32, 1, d / 4),
                    backend.allocate(arena, DType.F32, maxExperts));
        }
    }

    static PoolingRouter load(CheckpointWeights weights, String layerPrefix, RouterVersion version, int d,
            int experts) {
        String prefix = layerPrefix + ".pooling_router.";
        if (version == RouterVersion.V2) {
            return new PoolingRouter(null, null, Linear.load(weights, prefix + "predictor", d, experts, false));
        }
        return new PoolingRouter(LayerNorm.load(weights, prefix + "mlp1.0", d, LAYER_NORM_EPS),
                Linear.load(weights, prefix + "mlp1.1", d, d / 4, false),
                Linear.load(weights, prefix + "predictor", d / 4, experts, false));
    }

    int experts() {
        return predictor.weight().intDim(0);
    }

    /** The expert probabilities for {@code input} [1, d]. */
    float[] probabilities(Backend backend, Tensor input, Buffers buffers) {
        Tensor logits = buffers.logits().rows(0, experts());
        Tensor features = input;
        if (layerNorm != null) {
            layerNorm.apply(backend, input, buffers.normed());
            hidden.apply(backend, buffers.normed(), buffers.hidden());
            backend.activate(Activation.GELU, buffers.hidden(), buffers.hidden());
            features = buffers.hidden();
        }
        predictor.apply(backend, features, logits);
        backend.softmax(logits, 1 / TEMPERATURE);
        float[] probabilities = new float[experts()];
        backend.download(logits, probabilities);
        return probabilities;
    }
}
