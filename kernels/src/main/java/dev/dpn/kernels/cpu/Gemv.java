package dev.dpn.kernels.cpu;

import static dev.dpn.kernels.cpu.MatMulWeights.BLOCK;
import static dev.dpn.kernels.cpu.MatMulWeights.F;
import static dev.dpn.kernels.cpu.MatMulWeights.F16_BITS;
import static dev.dpn.kernels.cpu.MatMulWeights.F16_MAX_FINITE;
import static dev.dpn.kernels.cpu.MatMulWeights.F16_SCALE;
import static dev.dpn.kernels.cpu.MatMulWeights.HALVES;
import static dev.dpn.kernels.cpu.MatMulWeights.INTS;
import static dev.dpn.kernels.cpu.MatMulWeights.LE;
import static dev.dpn.kernels.cpu.MatMulWeights.QUARTERS;

import dev.dpn.tensors.DType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
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
    /** Columns of x per block in one-row products: 16 KB of F32, a third of L1; shorter rows are one block. */
    private static final int K_BLOCK = 4096;
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    private Gemv() {
    }

    static void gemv(Parallel parallel, MemorySegment x, MemorySegment w, DType type, MemorySegment bias,
                     MemorySegment y, int m, int n, int k) {
        if (m == 1) {
            gemv1(parallel, x, w, type, bias, y, n, k);
            return;
        }
        parallel.run((n + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK, chunk -> {
            int end = Math.min(n, (chunk + 1) * ROWS_PER_CHUNK);
            float[] row = rowBuffer(k);
            for (int j = chunk * ROWS_PER_CHUNK; j < end; j++) {
                float b = bias == null ? 0 : bias.get(DType.FLOAT, 4L * j);
                long wIndex = (long) j * k;
                // Several rows of x: decode the weight row once into L1, then dot it with each.
                MatMulWeights.decode(type, w, wIndex, row, k);
                for (int i = 0; i < m; i++) {
                    y.set(DType.FLOAT, 4 * ((long) i * n + j), dot(row, x, (long) i * k, k) + b);
                }
            }
        });
    }

    /**
     * One row of x: each chunk of weight rows is walked in blocks of {@link #K_BLOCK} columns, so the block of x
     * they all multiply stays in L1 while the weights stream past (a whole long row of x, 44 KB at K = 11008,
     * would not, and F16 rows then ran at half speed).
     */
    private static void gemv1(Parallel parallel, MemorySegment x, MemorySegment w, DType type, MemorySegment bias,
                              MemorySegment y, int n, int k) {
        parallel.run((n + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK, chunk -> {
            int first = chunk * ROWS_PER_CHUNK;
            int end = Math.min(n, first + ROWS_PER_CHUNK);
            float[] sums = rowBuffer(ROWS_PER_CHUNK);
            Arrays.fill(sums, 0, ROWS_PER_CHUNK, 0f);
            for (int p = 0; p < k; p += K_BLOCK) {
                int length = Math.min(K_BLOCK, k - p);
                for (int j = first; j < end; j++) {
                    long wIndex = (long) j * k + p;
                    sums[j - first] += switch (type) {
                        case F16 -> dotF16(w, wIndex, x, p, length);
                        case BF16 -> dotBf16(w, wIndex, x, p, length);
                        case Q8_0 -> dotQ8(w, wIndex, x, p, length);
                        case Q4_0 -> dotQ4(w, wIndex, x, p, length);
                        default -> dotF32(w, wIndex, x, p, length);
                    };
                }
            }
            for (int j = first; j < end; j++) {
                y.set(DType.FLOAT, 4L * j, sums[j - first] + (bias == null ? 0 : bias.get(DType.FLOAT, 4L * j)));
            }
        });
    }

    /** This thread's scratch (a weight row, or partial sums), grown when a longer one is needed. */
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

    private static float dotF32(MemorySegment w, long wIndex, MemorySegment x, long xIndex, int k) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        int lanes = F.length();
        int p = 0;
        for (; p <= k - 2 * lanes; p += 2 * lanes) {
            FloatVector w0 = FloatVector.fromMemorySegment(F, w, 4 * (wIndex + p), LE);
            FloatVector w1 = FloatVector.fromMemorySegment(F, w, 4 * (wIndex + p + lanes), LE);
            sum0 = w0.fma(FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p), LE), sum0);
            sum1 = w1.fma(FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p + lanes), LE), sum1);
        }
        return tail(DType.F32, w, wIndex, x, xIndex, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    /** F16 as {@link MatMulWeights#decode} converts it, Inf and NaN included. */
    private static float dotF16(MemorySegment w, long wIndex, MemorySegment x, long xIndex, int k) {
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
            sum0 = w0.fma(FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p), LE), sum0);
            sum1 = w1.fma(FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p + lanes), LE), sum1);
        }
        return tail(DType.F16, w, wIndex, x, xIndex, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    private static float dotBf16(MemorySegment w, long wIndex, MemorySegment x, long xIndex, int k) {
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
            sum0 = w0.fma(FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p), LE), sum0);
            sum1 = w1.fma(FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p + lanes), LE), sum1);
        }
        return tail(DType.BF16, w, wIndex, x, xIndex, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    /*
     * The quantized dot products take two blocks per step, one per accumulator. Within a block the products of its
     * 32 weights with x are summed unscaled, and the block's sum is scaled once, by an FMA into the accumulator:
     * with one accumulator, the latency of that FMA would hold every block back.
     */

    private static float dotQ8(MemorySegment w, long wIndex, MemorySegment x, long xIndex, int k) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        int lanes = F.length();
        int bytes = DType.Q8_0.blockBytes();
        long block = wIndex / BLOCK * bytes;
        int p = 0;
        for (; p <= k - 2 * BLOCK; p += 2 * BLOCK, block += 2 * bytes) {
            FloatVector block0 = FloatVector.zero(F);
            FloatVector block1 = FloatVector.zero(F);
            for (int part = 0; part < BLOCK; part += lanes) {
                FloatVector q0 = (FloatVector) ByteVector.fromMemorySegment(QUARTERS, w, block + 2 + part, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                FloatVector q1 = (FloatVector) ByteVector.fromMemorySegment(QUARTERS, w, block + bytes + 2 + part, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                block0 = q0.fma(FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p + part), LE), block0);
                block1 = q1.fma(FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p + BLOCK + part), LE), block1);
            }
            float scale0 = Float.float16ToFloat(w.get(DType.SHORT, block));
            float scale1 = Float.float16ToFloat(w.get(DType.SHORT, block + bytes));
            sum0 = block0.fma(FloatVector.broadcast(F, scale0), sum0);
            sum1 = block1.fma(FloatVector.broadcast(F, scale1), sum1);
        }
        return tail(DType.Q8_0, w, wIndex, x, xIndex, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    /** Q4_0 as {@link MatMulWeights#decode} unpacks it: byte j holds weights j and j + 16 of its block. */
    private static float dotQ4(MemorySegment w, long wIndex, MemorySegment x, long xIndex, int k) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        int lanes = F.length();
        int bytes = DType.Q4_0.blockBytes();
        long block = wIndex / BLOCK * bytes;
        int half = BLOCK / 2;
        int p = 0;
        for (; p <= k - 2 * BLOCK; p += 2 * BLOCK, block += 2 * bytes) {
            FloatVector block0 = FloatVector.zero(F);
            FloatVector block1 = FloatVector.zero(F);
            for (int part = 0; part < half; part += lanes) {
                IntVector packed0 = (IntVector) ByteVector.fromMemorySegment(QUARTERS, w, block + 2 + part, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, INTS, 0);
                IntVector packed1 = (IntVector) ByteVector.fromMemorySegment(QUARTERS, w, block + bytes + 2 + part, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, INTS, 0);
                long at = 4 * (xIndex + p + part);
                block0 = ((FloatVector) packed0.and(0x0F).sub(8).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromMemorySegment(F, x, at, LE), block0);
                block0 = ((FloatVector) packed0.lanewise(VectorOperators.LSHR, 4).sub(8)
                        .convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromMemorySegment(F, x, at + 4 * half, LE), block0);
                block1 = ((FloatVector) packed1.and(0x0F).sub(8).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromMemorySegment(F, x, at + 4 * BLOCK, LE), block1);
                block1 = ((FloatVector) packed1.lanewise(VectorOperators.LSHR, 4).sub(8)
                        .convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromMemorySegment(F, x, at + 4 * (BLOCK + half), LE), block1);
            }
            float scale0 = Float.float16ToFloat(w.get(DType.SHORT, block));
            float scale1 = Float.float16ToFloat(w.get(DType.SHORT, block + bytes));
            sum0 = block0.fma(FloatVector.broadcast(F, scale0), sum0);
            sum1 = block1.fma(FloatVector.broadcast(F, scale1), sum1);
        }
        return tail(DType.Q4_0, w, wIndex, x, xIndex, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    /** Adds the last {@code k − p} products, fewer than two vectors' (or blocks') worth, one at a time. */
    private static float tail(DType type, MemorySegment w, long wIndex, MemorySegment x, long xIndex, int k, int p,
                              float sum) {
        for (; p < k; p++) {
            sum += x.get(DType.FLOAT, 4 * (xIndex + p)) * type.getFloat(w, wIndex + p);
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
