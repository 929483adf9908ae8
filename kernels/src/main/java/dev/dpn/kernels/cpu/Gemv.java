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
    /** Weight rows per chunk of a several-row product: amortises the hand-out, leaves enough chunks to balance. */
    private static final int ROWS_PER_CHUNK = 16;
    /**
     * Weight bytes per chunk of a one-row product: a thread streams about a megabyte of consecutive rows before it
     * takes the next chunk. Measured on the 7B model's decoder matrices, mapped from disk, 2 threads: 16-row chunks
     * (128-352 KB) read 23 GB/s of F16, megabyte chunks 28 GB/s; Q4_0 went from 14 to 21 GB/s.
     */
    private static final long CHUNK_BYTES = 1 << 20;
    /** Chunks per thread at least, so that the dynamic hand-out can even out the threads' speeds. */
    private static final int MIN_CHUNKS_PER_THREAD = 4;
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
     * One row of x: each thread streams whole weight rows, chunk after chunk, so the hardware prefetchers see long
     * sequential runs. Walking a chunk's rows in column blocks, to keep a block of x in L1, broke those runs into
     * 8 KB pieces and was slower from DRAM (x, 44 KB at K = 11008, stays in L2 anyway).
     */
    private static void gemv1(Parallel parallel, MemorySegment x, MemorySegment w, DType type, MemorySegment bias,
                              MemorySegment y, int n, int k) {
        long balanced = ((long) n + MIN_CHUNKS_PER_THREAD * parallel.threads() - 1)
                / (MIN_CHUNKS_PER_THREAD * parallel.threads());
        int rowsPerChunk = (int) Math.max(1, Math.min(CHUNK_BYTES / type.byteSize(k), balanced));
        parallel.run((n + rowsPerChunk - 1) / rowsPerChunk, chunk -> {
            int end = Math.min(n, (chunk + 1) * rowsPerChunk);
            for (int j = chunk * rowsPerChunk; j < end; j++) {
                long wIndex = (long) j * k;
                float sum = switch (type) {
                    case F16 -> dotF16(w, wIndex, x, k);
                    case BF16 -> dotBf16(w, wIndex, x, k);
                    case Q8_0 -> dotQ8(w, wIndex, x, k);
                    case Q4_0 -> dotQ4(w, wIndex, x, k);
                    default -> dotF32(w, wIndex, x, k);
                };
                y.set(DType.FLOAT, 4L * j, sum + (bias == null ? 0 : bias.get(DType.FLOAT, 4L * j)));
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

    private static float dotF32(MemorySegment w, long wIndex, MemorySegment x, int k) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        int lanes = F.length();
        int p = 0;
        for (; p <= k - 2 * lanes; p += 2 * lanes) {
            FloatVector w0 = FloatVector.fromMemorySegment(F, w, 4 * (wIndex + p), LE);
            FloatVector w1 = FloatVector.fromMemorySegment(F, w, 4 * (wIndex + p + lanes), LE);
            sum0 = w0.fma(FloatVector.fromMemorySegment(F, x, 4 * (p), LE), sum0);
            sum1 = w1.fma(FloatVector.fromMemorySegment(F, x, 4 * (p + lanes), LE), sum1);
        }
        return tail(DType.F32, w, wIndex, x, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    /**
     * F16 as {@link MatMulWeights#decode} converts it, Inf and NaN included. The usual weight type takes four
     * vectors per step: its conversion is long enough that with two the loads waited (7B decode read 23 GB/s of
     * F16 with two, 28 with four).
     */
    private static float dotF16(MemorySegment w, long wIndex, MemorySegment x, int k) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        FloatVector sum2 = FloatVector.zero(F);
        FloatVector sum3 = FloatVector.zero(F);
        int lanes = F.length();
        int p = 0;
        for (; p <= k - 4 * lanes; p += 4 * lanes) {
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, 2 * (wIndex + p), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, 2 * (wIndex + p + lanes), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            IntVector h2 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, 2 * (wIndex + p + 2 * lanes), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            IntVector h3 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, 2 * (wIndex + p + 3 * lanes), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            FloatVector w0 = h0.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h0.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats();
            FloatVector w1 = h1.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h1.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats();
            FloatVector w2 = h2.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h2.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats();
            FloatVector w3 = h3.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h3.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats();
            sum0 = w0.fma(FloatVector.fromMemorySegment(F, x, 4 * (p), LE), sum0);
            sum1 = w1.fma(FloatVector.fromMemorySegment(F, x, 4 * (p + lanes), LE), sum1);
            sum2 = w2.fma(FloatVector.fromMemorySegment(F, x, 4 * (p + 2 * lanes), LE), sum2);
            sum3 = w3.fma(FloatVector.fromMemorySegment(F, x, 4 * (p + 3 * lanes), LE), sum3);
        }
        FloatVector sum = sum0.add(sum1).add(sum2.add(sum3));
        return tail(DType.F16, w, wIndex, x, k, p, sum.reduceLanes(VectorOperators.ADD));
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
            sum0 = w0.fma(FloatVector.fromMemorySegment(F, x, 4 * (p), LE), sum0);
            sum1 = w1.fma(FloatVector.fromMemorySegment(F, x, 4 * (p + lanes), LE), sum1);
        }
        return tail(DType.BF16, w, wIndex, x, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    /*
     * The quantized dot products take two blocks per step, one per accumulator. Within a block the products of its
     * 32 weights with x are summed unscaled, and the block's sum is scaled once, by an FMA into the accumulator:
     * with one accumulator, the latency of that FMA would hold every block back.
     */

    private static float dotQ8(MemorySegment w, long wIndex, MemorySegment x, int k) {
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
                block0 = q0.fma(FloatVector.fromMemorySegment(F, x, 4 * (p + part), LE), block0);
                block1 = q1.fma(FloatVector.fromMemorySegment(F, x, 4 * (p + BLOCK + part), LE), block1);
            }
            float scale0 = Float.float16ToFloat(w.get(DType.SHORT, block));
            float scale1 = Float.float16ToFloat(w.get(DType.SHORT, block + bytes));
            sum0 = block0.fma(FloatVector.broadcast(F, scale0), sum0);
            sum1 = block1.fma(FloatVector.broadcast(F, scale1), sum1);
        }
        return tail(DType.Q8_0, w, wIndex, x, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    /** Q4_0 as {@link MatMulWeights#decode} unpacks it: byte j holds weights j and j + 16 of its block. */
    private static float dotQ4(MemorySegment w, long wIndex, MemorySegment x, int k) {
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
                long at = 4 * (p + part);
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
        return tail(DType.Q4_0, w, wIndex, x, k, p, sum0.add(sum1).reduceLanes(VectorOperators.ADD));
    }

    /** Adds the products the vector loop left, one at a time. */
    private static float tail(DType type, MemorySegment w, long wIndex, MemorySegment x, int k, int p,
                              float sum) {
        for (; p < k; p++) {
            sum += x.get(DType.FLOAT, 4 * (p)) * type.getFloat(w, wIndex + p);
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
