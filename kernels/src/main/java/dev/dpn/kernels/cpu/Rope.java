package dev.dpn.kernels.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

import dev.dpn.tensors.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Rotary position embedding in the HF rotate_half layout: pairs (i, i + headDim/2) of every head. Each token's
 * angles are formed and passed to cos/sin in double, so a position in the thousands keeps a float-accurate
 * rotation; the resulting table is shared by all heads of the token.
 */
final class Rope {
    private Rope() {
    }

    static void rope(Parallel parallel, Tensor x, int[] positions, int headDim, float theta) {
        int half = headDim / 2;
        double[] inverseFrequencies = new double[half];
        for (int i = 0; i < half; i++) {
            inverseFrequencies[i] = Math.pow(theta, -2.0 * i / headDim);
        }
        MemorySegment xs = x.data();
        int width = x.intDim(-1);
        RowChunks.run(parallel, positions.length, width, (from, to) -> {
            float[] cos = new float[half];
            float[] sin = new float[half];
            for (long t = from; t < to; t++) {
                for (int i = 0; i < half; i++) {
                    double angle = positions[(int) t] * inverseFrequencies[i];
                    cos[i] = (float) Math.cos(angle);
                    sin[i] = (float) Math.sin(angle);
                }
                for (int head = 0; head < width / headDim; head++) {
                    rotate(xs, t * width + (long) head * headDim, half, cos, sin);
                }
            }
        });
    }

    /** (a, b) ← (a·cos − b·sin, b·cos + a·sin) for the pairs (base + i, base + half + i). */
    private static void rotate(MemorySegment x, long base, int half, float[] cos, float[] sin) {
        int i = 0;
        for (int bound = F32.SPECIES.loopBound(half); i < bound; i += F32.LANES) {
            long first = (base + i) * Float.BYTES, second = (base + half + i) * Float.BYTES;
            FloatVector a = FloatVector.fromMemorySegment(F32.SPECIES, x, first, LITTLE_ENDIAN);
            FloatVector b = FloatVector.fromMemorySegment(F32.SPECIES, x, second, LITTLE_ENDIAN);
            FloatVector c = FloatVector.fromArray(F32.SPECIES, cos, i);
            FloatVector s = FloatVector.fromArray(F32.SPECIES, sin, i);
            a.fma(c, b.mul(s).neg()).intoMemorySegment(x, first, LITTLE_ENDIAN);
            b.fma(c, a.mul(s)).intoMemorySegment(x, second, LITTLE_ENDIAN);
        }
        for (; i < half; i++) {
            float a = F32.get(x, base + i);
            float b = F32.get(x, base + half + i);
            F32.set(x, base + i, Math.fma(a, cos[i], -b * sin[i]));
            F32.set(x, base + half + i, Math.fma(b, cos[i], a * sin[i]));
        }
    }
}
