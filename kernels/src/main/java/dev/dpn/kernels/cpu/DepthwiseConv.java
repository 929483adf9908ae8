package dev.dpn.kernels.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Depthwise convolution of a row-major token grid with window = stride (DPN's conv experts): each output token is
 * a per-channel weighted sum of its window. The weights are channels-last, so both the tokens and the weights of
 * one window cell are contiguous and the sum is vectorised along the channels.
 */
final class DepthwiseConv {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private DepthwiseConv() {
    }

    static void depthwiseConv2d(Parallel parallel, Tensor x, int h, int w, Tensor weight, Tensor out) {
        MemorySegment xs = x.data(), ws = weight.data(), os = out.data();
        int d = x.intDim(-1);
        int kh = weight.intDim(0), kw = weight.intDim(1);
        int outW = w / kw;
        parallel.run((h / kh) * outW, o -> {
            long topLeft = (long) (o / outW) * kh * w + (long) (o % outW) * kw;
            window(xs, ws, os, o, topLeft, w, kh, kw, d);
        });
    }

    /** Output token {@code o}: the window whose top-left token is {@code topLeft}. */
    private static void window(MemorySegment xs, MemorySegment ws, MemorySegment os, long o, long topLeft, int w,
            int kh, int kw, int d) {
        int c = 0;
        for (int bound = SPECIES.loopBound(d); c < bound; c += SPECIES.length()) {
            FloatVector acc = FloatVector.zero(SPECIES);
            for (int dy = 0; dy < kh; dy++) {
                for (int dx = 0; dx < kw; dx++) {
                    long token = topLeft + (long) dy * w + dx;
                    long cell = (long) dy * kw + dx;
                    FloatVector v = FloatVector.fromMemorySegment(SPECIES, xs, (token * d + c) * Float.BYTES,
                            LITTLE_ENDIAN);
                    FloatVector k = FloatVector.fromMemorySegment(SPECIES, ws, (cell * d + c) * Float.BYTES,
                            LITTLE_ENDIAN);
                    acc = v.fma(k, acc);
                }
            }
            acc.intoMemorySegment(os, (o * d + c) * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; c < d; c++) {
            float sum = 0;
            for (int dy = 0; dy < kh; dy++) {
                for (int dx = 0; dx < kw; dx++) {
                    long token = topLeft + (long) dy * w + dx;
                    long cell = (long) dy * kw + dx;
                    sum += xs.get(DType.FLOAT, (token * d + c) * Float.BYTES)
                            * ws.get(DType.FLOAT, (cell * d + c) * Float.BYTES);
                }
            }
            os.set(DType.FLOAT, (o * d + c) * Float.BYTES, sum);
        }
    }
}
