package dev.dpn.kernels.cpu;

import dev.dpn.kernels.*;
import dev.dpn.tensors.Tensor;

final class Attention {
    private Attention() {
    }

    static void attention(Parallel parallel, Tensor q, Tensor k, Tensor v, int kvLength, int heads, int kvHeads, boolean causal, float scale, Tensor out) {
        throw new UnsupportedOperationException("TODO");
    }
}
