package dev.dpn.kernels.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

import dev.dpn.tensors.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** Row-wise softmax of scaled values, in place: the max, then exponentials and their sum, then normalisation. */
final class Softmax {
    private Softmax() {
    }

    static void softmax(Parallel parallel, Tensor x, float scale) {
        MemorySegment xs = x.data();
        int d = x.intDim(-1);
        RowChunks.run(parallel, x.rowCount(), d, (from, to) -> {
            for (long row = from; row < to; row++) {
                long base = row * d;
                float sum = exponentiate(xs, base, d, scale, scaledMax(xs, base, d, scale));
                Elementwise.scale(xs, base, 1 / sum, xs, base, d);
            }
        });
    }

    /**
     * {@code x ← e^(x·scale − shift)} over {@code n} elements from {@code index}; returns the sum of the results.
     * x·scale − shift is rounded once (a fused multiply-add), so a large scaled value loses nothing before the
     * subtraction of a max close to it. Attention runs its scores through this too.
     */
    static float exponentiate(MemorySegment x, long index, int n, float scale, float shift) {
        FloatVector sums = FloatVector.zero(F32.SPECIES);
        int i = 0;
        for (int bound = F32.SPECIES.loopBound(n); i < bound; i += F32.LANES) {
            long offset = (index + i) * Float.BYTES;
            FloatVector v = FloatVector.fromMemorySegment(F32.SPECIES, x, offset, LITTLE_ENDIAN);
            FloatVector e = VectorMath.exp(v.fma(scale, -shift));
            e.intoMemorySegment(x, offset, LITTLE_ENDIAN);
            sums = sums.add(e);
        }
        float sum = sums.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float e = VectorMath.exp(Math.fma(F32.get(x, index + i), scale, -shift));
            F32.set(x, index + i, e);
            sum += e;
        }
        return sum;
    }

    private static float scaledMax(MemorySegment x, long index, int n, float scale) {
        FloatVector maxes = FloatVector.broadcast(F32.SPECIES, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int bound = F32.SPECIES.loopBound(n); i < bound; i += F32.LANES) {
            FloatVector v = FloatVector.fromMemorySegment(F32.SPECIES, x, (index + i) * Float.BYTES, LITTLE_ENDIAN);
            maxes = maxes.max(v.mul(scale));
        }
        float max = maxes.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, F32.get(x, index + i) * scale);
        }
        return max;
    }
}
