package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.loader.config.DpeLayer;
import dev.dpn.loader.config.Kernel;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The trained parts of the DPE layers, by decoder layer index: routers (adaptive pooling) and conv experts
 * (pooling function conv), loaded as the checkpoint's config asks.
 *
 * @param convExperts per layer, one depthwise weight [kh, kw, D] F32 per expert
 */
record DpeWeights(Map<Integer, PoolingRouter> routers, Map<Integer, List<Tensor>> convExperts) {

    static DpeWeights load(CheckpointWeights weights, LlavaConfig llava, Backend backend, TensorArena arena) {
        PoolingConfig pooling = llava.pooling();
        int d = llava.textConfig().hiddenSize();
        Map<Integer, PoolingRouter> routers = new HashMap<>();
        Map<Integer, List<Tensor>> convExperts = new HashMap<>();
        for (DpeLayer layer : pooling.layers()) {
            String prefix = LlamaDecoder.PREFIX + "layers." + layer.index();
            if (pooling.type() == PoolingConfig.Type.ADAPTIVE) {
                routers.put(layer.index(), PoolingRouter.load(weights, prefix, pooling.routerVersion(), d,
                        layer.experts().size()));
            }
            if (pooling.type() != PoolingConfig.Type.NONE && pooling.function() == PoolingConfig.Function.CONV) {
                List<Tensor> experts = new ArrayList<>();
                for (int j = 0; j < layer.experts().size(); j++) {
                    Tensor stored = weights.matrix(prefix + ".experts." + j + ".weight", d, 1,
                            layer.experts().get(j).height(), layer.experts().get(j).width());
                    experts.add(channelsLast(backend, arena, stored));
                }
                convExperts.put(layer.index(), List.copyOf(experts));
            }
        }
        return new DpeWeights(Map.copyOf(routers), Map.copyOf(convExperts));
    }

    /** Whether a checkpoint tensor is a router or conv expert: the config's pooling may leave them unused. */
    static boolean isDpeWeight(String name) {
        return name.contains(".pooling_router.") || name.contains(".experts.");
    }

    /**
     * Checks that {@code pooling}, which a request may have chosen over the config's, has the weights it needs.
     *
     * @throws IllegalArgumentException naming the layer whose router or experts are missing
     */
    void requireFor(PoolingConfig pooling) {
        for (DpeLayer layer : pooling.layers()) {
            if (pooling.type() == PoolingConfig.Type.ADAPTIVE) {
                PoolingRouter router = routers.get(layer.index());
                if (router == null || router.experts() != layer.experts().size()) {
                    throw new IllegalArgumentException("adaptive pooling at decoder layer " + layer.index()
                            + " needs a trained router for its " + layer.experts().size() + " experts; the model "
                            + (router == null ? "has none there (static or random pooling need none)"
                            : "has one for " + router.experts() + " experts"));
                }
            }
            if (pooling.type() != PoolingConfig.Type.NONE && pooling.function() == PoolingConfig.Function.CONV) {
                List<Tensor> experts = convExperts.getOrDefault(layer.index(), List.of());
                if (!layer.experts().equals(kernels(experts))) {
                    throw new IllegalArgumentException("conv experts " + layer.experts() + " at decoder layer "
                            + layer.index() + " need trained weights; the model has " + kernels(experts));
                }
            }
        }
    }

    private static List<Kernel> kernels(List<Tensor> experts) {
        return experts.stream().map(w -> new Kernel(w.intDim(0), w.intDim(1))).toList();
    }

    /**
     * torch's depthwise weight [D, 1, kh, kw] (mapped, any float dtype) as the backend wants it, [kh, kw, D] F32:
     * transposed on the host, then copied into the backend's memory.
     */
    private static Tensor channelsLast(Backend backend, TensorArena arena, Tensor stored) {
        int d = stored.intDim(0), kh = stored.intDim(2), kw = stored.intDim(3);
        Tensor transposed = arena.allocate(DType.F32, kh, kw, d);
        for (int c = 0; c < d; c++) {
            for (int cell = 0; cell < kh * kw; cell++) {
                transposed.setFloat((long) cell * d + c, stored.getFloat((long) c * kh * kw + cell));
            }
        }
        Tensor weight = backend.allocate(arena, DType.F32, kh, kw, d);
        backend.copy(transposed, weight);
        return weight;
    }
}
