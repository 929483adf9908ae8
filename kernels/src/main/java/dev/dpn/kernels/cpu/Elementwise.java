package dev.dpn.kernels.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

import dev.dpn.tensors.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/** Residual additions and scaling over the flattened tensors. */
final class Elementwise {
    private Elementwise() {
    }

    static void add(Parallel parallel, Tensor a, Tensor b, Tensor out) {
        MemorySegment as = a.data(), bs = b.data(), os = out.data();
        RowChunks.run(parallel, a.size(), 1, (from, to) -> {
            long i = from;
            for (long bound = from + F32.SPECIES.loopBound(to - from); i < bound; i += F32.LANES) {
                FloatVector x = FloatVector.fromMemorySegment(F32.SPECIES, as, i * Float.BYTES, LITTLE_ENDIAN);
                FloatVector y = FloatVector.fromMemorySegment(F32.SPECIES, bs, i * Float.BYTES, LITTLE_ENDIAN);
                x.add(y).intoMemorySegment(os, i * Float.BYTES, LITTLE_ENDIAN);
            }
            for (; i < to; i++) {
                F32.set(os, i, F32.get(as, i) + F32.get(bs, i));
            }
        });
    }

    static void scale(Parallel parallel, Tensor x, float s, Tensor out) {
        MemorySegment xs = x.data(), os = out.data();
        RowChunks.run(parallel, x.size(), 1, (from, to) -> scale(xs, from, s, os, from, to - from));
    }

    /** {@code out[outIndex + i] = x[xIndex + i] · s} for i in [0, n); out may be x. */
    static void scale(MemorySegment x, long xIndex, float s, MemorySegment out, long outIndex, long n) {
        long i = 0;
        for (long bound = F32.SPECIES.loopBound(n); i < bound; i += F32.LANES) {
            FloatVector v = FloatVector.fromMemorySegment(F32.SPECIES, x, (xIndex + i) * Float.BYTES, LITTLE_ENDIAN);
            v.mul(s).intoMemorySegment(out, (outIndex + i) * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; i < n; i++) {
            F32.set(out, outIndex + i, F32.get(x, xIndex + i) * s);
        }
    }
}
