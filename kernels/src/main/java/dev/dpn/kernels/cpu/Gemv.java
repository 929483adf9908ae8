package dev.dpn.kernels.cpu;

import static dev.dpn.kernels.cpu.MatMulWeights.F;
import static dev.dpn.kernels.cpu.MatMulWeights.F16_BITS;
import static dev.dpn.kernels.cpu.MatMulWeights.F16_MAX_FINITE;
import static dev.dpn.kernels.cpu.MatMulWeights.F16_SCALE;
import static dev.dpn.kernels.cpu.MatMulWeights.HALVES;
import static dev.dpn.kernels.cpu.MatMulWeights.INTS;
import static dev.dpn.kernels.cpu.MatMulWeights.LE;

import dev.dpn.tensors.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Matrix-vector product for a few rows of x (token generation): memory-bound, so each weight row is streamed from
 * memory once, dotted with every row of x while it sits in L1, and the rows of w are split across the team.
 */
final class Gemv {
    /** Weight rows per chunk handed to a thread: amortises the hand-out, leaves enough chunks to balance. */
    private static final int ROWS_PER_CHUNK = 16;
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    private Gemv() {
    }

    static void gemv(Parallel parallel, MemorySegment x, MemorySegment w, DType type, MemorySegment bias,
                     MemorySegment y, int m, int n, int k) {
        parallel.run((n + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK, chunk -> {
            int end = Math.min(n, (chunk + 1) * ROWS_PER_CHUNK);
            float[] row = m == 1 ? null : rowBuffer(k);
            for (int j = chunk * ROWS_PER_CHUNK; j < end; j++) {
                float b = bias == null ? 0 : bias.get(DType.FLOAT, 4L * j);
                long wIndex = (long) j * k;
                if (m == 1) {
                    float dot = switch (type) {
                        case F16 -> dotF16(w, wIndex, x, k);
                        case BF16 -> dotBf16(w, wIndex, x, k);
                        default -> dotF32(w, wIndex, x, k);
                    };
                    y.set(DType.FLOAT, 4L * j, dot + b);
                    continue;
                }
                // Several rows of x: decode the weight row once into L1, then dot it with each.
                MatMulWeights.decode(type, w, wIndex, row, k);
                for (int i = 0; i < m; i++) {
                    y.set(DType.FLOAT, 4 * ((long) i * n + j), dot(row, x, (long) i * k, k) + b);
                }
            }
        });
    }

    /** This thread's buffer for one weight row, grown when a longer row comes. */
    private static float[] rowBuffer(int k) {
        float[] row = ROW.get();
        if (row.length < k) {
            row = new float[k];
            ROW.set(row);
        }
        return row;
    }

    /*
     * The dot products below each convert their weight type in the loop body itself. Reading the weights straight
     * from memory into registers is what keeps a single-row product at the memory-bandwidth limit (decoding into
     * a buffer first halves it), and a vector handed to a helper method the JIT declines to inline would be boxed.
     * Two accumulators hide FMA latency.
     */

    private static float dotF32(MemorySegment w, long wIndex, MemorySegment x, int k) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        int lanes = F.length();
        int p = 0;
        for (; p <= k - 2 * lanes; p += 2 * lanes) {
            FloatVector w0 = FloatVector.fromMemorySegment(F, w, 4 * (wIndex + p), LE);
            FloatVector w1 = FloatVector.fromMemorySegment(F, w, 4 * (wIndex + p + lanes), LE);
            sum0 = w0.fma(FloatVector.fromMemorySegment(F, x, 4L * p, LE), sum0);
            sum1 = w1.fma(FloatVector.fromMemorySegment(F, x, 4L * (p + lanes), LE), sum1);
        }
        return tail(DType.F32, w, wIndex, x, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    /** F16 as {@link MatMulWeights#decode} converts it, Inf and NaN included. */
    private static float dotF16(MemorySegment w, long wIndex, MemorySegment x, int k) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        int lanes = F.length();
        int p = 0;
        for (; p <= k - 2 * lanes; p += 2 * lanes) {
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, 2 * (wIndex + p), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, 2 * (wIndex + p + lanes), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            IntVector e0 = h0.lanewise(VectorOperators.LSHL, 13).and(F16_BITS);
            IntVector e1 = h1.lanewise(VectorOperators.LSHL, 13).and(F16_BITS);
            FloatVector w0 = e0.reinterpretAsFloats().mul(F16_SCALE).reinterpretAsInts().lanewise(VectorOperators.OR,
                    0x7F800000, h0.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats();
            FloatVector w1 = e1.reinterpretAsFloats().mul(F16_SCALE).reinterpretAsInts().lanewise(VectorOperators.OR,
                    0x7F800000, h1.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats();
            sum0 = w0.fma(FloatVector.fromMemorySegment(F, x, 4L * p, LE), sum0);
            sum1 = w1.fma(FloatVector.fromMemorySegment(F, x, 4L * (p + lanes), LE), sum1);
        }
        return tail(DType.F16, w, wIndex, x, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    private static float dotBf16(MemorySegment w, long wIndex, MemorySegment x, int k) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        int lanes = F.length();
        int p = 0;
        for (; p <= k - 2 * lanes; p += 2 * lanes) {
            FloatVector w0 = ((IntVector) ShortVector.fromMemorySegment(HALVES, w, 2 * (wIndex + p), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0)).lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats();
            FloatVector w1 = ((IntVector) ShortVector.fromMemorySegment(HALVES, w, 2 * (wIndex + p + lanes), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0)).lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats();
            sum0 = w0.fma(FloatVector.fromMemorySegment(F, x, 4L * p, LE), sum0);
            sum1 = w1.fma(FloatVector.fromMemorySegment(F, x, 4L * (p + lanes), LE), sum1);
        }
        return tail(DType.BF16, w, wIndex, x, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    /** Adds the last {@code k − p} products, fewer than two vectors' worth, one at a time. */
    private static float tail(DType type, MemorySegment w, long wIndex, MemorySegment x, int k, int p, float sum) {
        for (; p < k; p++) {
            sum += x.get(DType.FLOAT, 4L * p) * type.getFloat(w, wIndex + p);
        }
        return sum;
    }

    /** A decoded weight row against row {@code xIndex / k} of x. */
    private static float dot(float[] w, MemorySegment x, long xIndex, int k) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        int lanes = F.length();
        int p = 0;
        for (; p <= k - 2 * lanes; p += 2 * lanes) {
            sum0 = FloatVector.fromArray(F, w, p).fma(FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p), LE), sum0);
            sum1 = FloatVector.fromArray(F, w, p + lanes)
                    .fma(FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p + lanes), LE), sum1);
        }
        float sum = sum0.add(sum1).reduceLanes(VectorOperators.ADD);
        for (; p < k; p++) {
            sum += x.get(DType.FLOAT, 4 * (xIndex + p)) * w[p];
        }
        return sum;
    }
}
