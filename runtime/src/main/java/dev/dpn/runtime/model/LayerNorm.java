package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.tensors.Tensor;

/** LayerNorm over each row, with learned scale and shift (CLIP, the v1 router). */
record LayerNorm(Tensor weight, Tensor bias, float eps) {

    static LayerNorm load(CheckpointWeights weights, String prefix, int size, double eps) {
        return new LayerNorm(weights.vector(prefix + ".weight", size), weights.vector(prefix + ".bias", size),
                (float) eps);
    }

    void apply(Backend backend, Tensor x, Tensor out) {
        backend.layerNorm(x, weight, bias, eps, out);
    }
}
