package dev.dpn.kernels.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

import dev.dpn.kernels.PoolType;
import dev.dpn.tensors.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * 2D max/avg pooling of a row-major token grid, window = stride, floor division (trailing rows and columns that
 * do not fill a window are dropped). Vectorised along the channels of each token.
 */
final class Pooling {
    private Pooling() {
    }

    static void pool2d(Parallel parallel, PoolType type, Tensor x, int h, int w, int kh, int kw, Tensor out) {
        MemorySegment xs = x.data(), os = out.data();
        int d = x.intDim(-1);
        int outW = w / kw;
        boolean max = type == PoolType.MAX;
        float identity = max ? Float.NEGATIVE_INFINITY : 0f;
        int window = kh * kw;
        RowChunks.run(parallel, (long) (h / kh) * outW, (long) d * window, (from, to) -> {
            for (long o = from; o < to; o++) {
                long topLeft = (o / outW) * kh * w + (o % outW) * kw;
                int c = 0;
                for (int bound = F32.SPECIES.loopBound(d); c < bound; c += F32.LANES) {
                    FloatVector acc = FloatVector.broadcast(F32.SPECIES, identity);
                    for (int dy = 0; dy < kh; dy++) {
                        for (int dx = 0; dx < kw; dx++) {
                            long token = topLeft + (long) dy * w + dx;
                            FloatVector v = FloatVector.fromMemorySegment(F32.SPECIES, xs,
                                    (token * d + c) * Float.BYTES, LITTLE_ENDIAN);
                            acc = max ? acc.max(v) : acc.add(v);
                        }
                    }
                    (max ? acc : acc.div(window)).intoMemorySegment(os, (o * d + c) * Float.BYTES, LITTLE_ENDIAN);
                }
                for (; c < d; c++) {
                    float acc = identity;
                    for (int dy = 0; dy < kh; dy++) {
                        for (int dx = 0; dx < kw; dx++) {
                            float v = F32.get(xs, (topLeft + (long) dy * w + dx) * d + c);
                            acc = max ? Math.max(acc, v) : acc + v;
                        }
                    }
                    F32.set(os, o * d + c, max ? acc : acc / window);
                }
            }
        });
    }
}
