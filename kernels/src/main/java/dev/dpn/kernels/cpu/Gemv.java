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
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

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
    /** The quantized one-row products write a block out in 8- or 16-lane vectors; other widths decode rows. */
    private static final boolean QUANTIZED_STREAMING = F.length() == 8 || F.length() == 16;
    /**
     * 16 bytes (half a Q8_0 block, or of quantized x; all of a Q4_0 block's nibble pairs) and the 16 shorts they
     * widen to, in which the quantized products multiply.
     */
    private static final VectorSpecies<Byte> HALF_BLOCK_BYTES = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> HALF_BLOCK_SHORTS = ShortVector.SPECIES_256;
    /**
     * Q4_0 takes two blocks per step where vectors have 16 float lanes: their 32 nibble pairs widen to one 512-bit
     * vector of shorts (the second block's bytes sit 18 further on, so two overlapping loads are blended), and x's
     * values in {@link BlockQuantizedX#paired} order meet them.
     */
    private static final boolean Q4_0_PAIRS = F.length() == 16;
    private static final VectorSpecies<Byte> PAIR_BYTES = ByteVector.SPECIES_256;
    private static final VectorSpecies<Short> PAIR_SHORTS = ShortVector.SPECIES_512;
    private static final VectorMask<Byte> SECOND_BLOCK_BYTES = VectorMask.fromLong(PAIR_BYTES, 0xFFFF_0000L);
    private static final VectorMask<Float> SECOND_BLOCK_SUMS = VectorMask.fromLong(FloatVector.SPECIES_512, 0xFF00L);
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<BlockQuantizedX> QUANTIZED_X = ThreadLocal.withInitial(BlockQuantizedX::new);

    private Gemv() {
    }

    static void gemv(Parallel parallel, MemorySegment x, MemorySegment w, DType type, MemorySegment bias,
                     MemorySegment y, int m, int n, int k) {
        if (m == 1 && (!type.isQuantized() || QUANTIZED_STREAMING)) {
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
     * short pieces that the prefetchers do not follow (F16 at K = 11008 on one core: 19 GB/s whole, 11 in slices of
     * 4096 columns), so x (44 KB of floats there) is read from L2; the quantized types keep it small instead.
     */
    private static void gemv1(Parallel parallel, MemorySegment x, MemorySegment w, DType type, MemorySegment bias,
                              MemorySegment y, int n, int k) {
        long balanced = ((long) n + MIN_CHUNKS_PER_THREAD * parallel.threads() - 1)
                / (MIN_CHUNKS_PER_THREAD * parallel.threads());
        int maxRows = (int) Math.max(1, Math.min(CHUNK_BYTES / type.byteSize(k), balanced));
        // A whole number of chunks per thread: 9 chunks of a 7B Q4_0 4096x4096 matrix left one thread reading the
        // last alone, 10 read 38 instead of 34 GB/s on 2 threads.
        int chunks = Math.ceilDiv(Math.ceilDiv(n, maxRows), parallel.threads()) * parallel.threads();
        int rowsPerChunk = Math.ceilDiv(n, chunks);
        BlockQuantizedX xq = type.isQuantized() ? QUANTIZED_X.get().quantize(x, k) : null;
        parallel.run((n + rowsPerChunk - 1) / rowsPerChunk, chunk -> {
            int start = chunk * rowsPerChunk;
            int end = Math.min(n, start + rowsPerChunk);
            if (type == DType.F32 || type == DType.BF16) {
                for (int j = start; j < end; j++) {
                    long wIndex = (long) j * k;
                    store(y, bias, j, type == DType.F32 ? dotF32(w, wIndex, x, k) : dotBf16(w, wIndex, x, k));
                }
                return;
            }
            if (type == DType.F16) {
                // Four rows at a time, from the four quarters of the chunk, share each load of x: x in floats
                // (44 KB at K = 11008) does not stay in L1 beside the weights, and reading it for two rows at a
                // time instead of four read 36 instead of 47 GB/s of K = 11008 on two threads (53 and 62 at
                // K = 4096). A short chunk repeats its last row.
                int quarter = (end - start + 3) / 4;
                for (int j = start; j < start + quarter; j++) {
                    dotF16(w, j, Math.min(j + quarter, end - 1), Math.min(j + 2 * quarter, end - 1),
                            Math.min(j + 3 * quarter, end - 1), x, k, bias, y);
                }
                return;
            }
            // The quantized types take two rows at a time, from the two halves of the chunk, sharing each load and
            // widening of x (four rows gained nothing: their arithmetic is the bound). Neighbouring rows, read in
            // step, defeated the prefetchers (6-7 instead of 16 GB/s of Q4_0 on one core). An odd chunk pairs its
            // last row with itself.
            int half = (end - start + 1) / 2;
            for (int j = start; j < start + half; j++) {
                int partner = Math.min(j + half, end - 1);
                if (type == DType.Q8_0) {
                    dotQ8(w, j, partner, xq, k, bias, y);
                } else if (Q4_0_PAIRS && (k / BLOCK) % 2 == 0) {
                    dotQ4Pairs(w, j, partner, xq, k, bias, y);
                } else {
                    dotQ4(w, j, partner, xq, k, bias, y);
                }
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
     * F16 rows {@code row0} to {@code row3} (may repeat), written to y with the bias; converted as
     * {@link MatMulWeights#decode} converts them, Inf and NaN included. Two vectors per row and step: the
     * conversion is long enough that with fewer independent sums the loads waited.
     */
    private static void dotF16(MemorySegment w, int row0, int row1, int row2, int row3, MemorySegment x, int k,
                               MemorySegment bias, MemorySegment y) {
        FloatVector sum00 = FloatVector.zero(F);
        FloatVector sum01 = FloatVector.zero(F);
        FloatVector sum10 = FloatVector.zero(F);
        FloatVector sum11 = FloatVector.zero(F);
        FloatVector sum20 = FloatVector.zero(F);
        FloatVector sum21 = FloatVector.zero(F);
        FloatVector sum30 = FloatVector.zero(F);
        FloatVector sum31 = FloatVector.zero(F);
        int lanes = F.length();
        long w0 = 2L * row0 * k;
        long w1 = 2L * row1 * k;
        long w2 = 2L * row2 * k;
        long w3 = 2L * row3 * k;
        int p = 0;
        for (; p <= k - 2 * lanes; p += 2 * lanes) {
            FloatVector xa = FloatVector.fromMemorySegment(F, x, 4L * p, LE);
            FloatVector xb = FloatVector.fromMemorySegment(F, x, 4L * (p + lanes), LE);
            IntVector h00 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, w0 + 2L * p, LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            sum00 = h00.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h00.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats()
                    .fma(xa, sum00);
            IntVector h01 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, w0 + 2L * (p + lanes), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            sum01 = h01.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h01.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats()
                    .fma(xb, sum01);
            IntVector h10 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, w1 + 2L * p, LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            sum10 = h10.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h10.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats()
                    .fma(xa, sum10);
            IntVector h11 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, w1 + 2L * (p + lanes), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            sum11 = h11.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h11.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats()
                    .fma(xb, sum11);
            IntVector h20 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, w2 + 2L * p, LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            sum20 = h20.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h20.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats()
                    .fma(xa, sum20);
            IntVector h21 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, w2 + 2L * (p + lanes), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            sum21 = h21.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h21.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats()
                    .fma(xb, sum21);
            IntVector h30 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, w3 + 2L * p, LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            sum30 = h30.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h30.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats()
                    .fma(xa, sum30);
            IntVector h31 = (IntVector) ShortVector.fromMemorySegment(HALVES, w, w3 + 2L * (p + lanes), LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            sum31 = h31.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h31.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats()
                    .fma(xb, sum31);
        }
        store(y, bias, row0, tail(DType.F16, w, (long) row0 * k, x, k, p,
                sum00.add(sum01).reduceLanes(VectorOperators.ADD)));
        store(y, bias, row1, tail(DType.F16, w, (long) row1 * k, x, k, p,
                sum10.add(sum11).reduceLanes(VectorOperators.ADD)));
        store(y, bias, row2, tail(DType.F16, w, (long) row2 * k, x, k, p,
                sum20.add(sum21).reduceLanes(VectorOperators.ADD)));
        store(y, bias, row3, tail(DType.F16, w, (long) row3 * k, x, k, p,
                sum30.add(sum31).reduceLanes(VectorOperators.ADD)));
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
     * The quantized dot products write each block out whole: a loop over a block's vectors (two trips with
     * AVX-512) was left rolled by the JIT and ran 2.4 times slower. The `if (F.length() < 16)` parts complete a
     * block with 8-lane vectors; with 16 lanes the JIT drops them. The block index is the loop's only counter and
     * every offset is computed from it, which lets the JIT hoist the bounds checks (4% on one core). Within a block
     * the products are summed in 16-bit integers, converted and scaled once per block.
     */

    /**
     * Q8_0 rows {@code row0} and {@code row1} (may be the same row) against x quantized per block to 8 bits, in
     * 16-bit integers, written to y with the bias: a block's two halves widen to 16 shorts each, multiply x's, and
     * their sum (at most 2·127·127 < 2^15) is converted to floats once per block: 16 floats, or with 8-lane vectors
     * 8 sums of neighbours (with {@code -XX:UseAVX=2}: one core 27 instead of 19.5 GB/s, the 7B model 5.7 instead
     * of 4.7 tokens/s, against converting the 16 in two halves).
     */
    private static void dotQ8(MemorySegment w, int row0, int row1, BlockQuantizedX xq, int k, MemorySegment bias,
                              MemorySegment y) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        byte[] values = xq.values;
        float[] scales = xq.scales;
        int bytes = DType.Q8_0.blockBytes();
        int half = BLOCK / 2;
        int blocks = k / BLOCK;
        long row0Start = (long) row0 * blocks * bytes;
        long row1Start = (long) row1 * blocks * bytes;
        for (int b = 0; b < blocks; b++) {
            long block0 = row0Start + (long) b * bytes;
            long block1 = row1Start + (long) b * bytes;
            ShortVector low = (ShortVector) ByteVector.fromArray(HALF_BLOCK_BYTES, values, b * BLOCK)
                    .convertShape(VectorOperators.B2S, HALF_BLOCK_SHORTS, 0);
            ShortVector high = (ShortVector) ByteVector.fromArray(HALF_BLOCK_BYTES, values, b * BLOCK + half)
                    .convertShape(VectorOperators.B2S, HALF_BLOCK_SHORTS, 0);
            ShortVector dot0 = ((ShortVector) ByteVector.fromMemorySegment(HALF_BLOCK_BYTES, w, block0 + 2, LE)
                    .convertShape(VectorOperators.B2S, HALF_BLOCK_SHORTS, 0)).mul(low)
                    .add(((ShortVector) ByteVector.fromMemorySegment(HALF_BLOCK_BYTES, w, block0 + 2 + half, LE)
                            .convertShape(VectorOperators.B2S, HALF_BLOCK_SHORTS, 0)).mul(high));
            ShortVector dot1 = ((ShortVector) ByteVector.fromMemorySegment(HALF_BLOCK_BYTES, w, block1 + 2, LE)
                    .convertShape(VectorOperators.B2S, HALF_BLOCK_SHORTS, 0)).mul(low)
                    .add(((ShortVector) ByteVector.fromMemorySegment(HALF_BLOCK_BYTES, w, block1 + 2 + half, LE)
                            .convertShape(VectorOperators.B2S, HALF_BLOCK_SHORTS, 0)).mul(high));
            FloatVector scale0 = FloatVector.broadcast(F, Float.float16ToFloat(w.get(DType.SHORT, block0)) * scales[b]);
            FloatVector scale1 = FloatVector.broadcast(F, Float.float16ToFloat(w.get(DType.SHORT, block1)) * scales[b]);
            if (F.length() == 16) {
                sum0 = ((FloatVector) dot0.convertShape(VectorOperators.S2F, F, 0)).fma(scale0, sum0);
                sum1 = ((FloatVector) dot1.convertShape(VectorOperators.S2F, F, 0)).fma(scale1, sum1);
            } else {
                // 8 lanes: neighbouring shorts added in 32-bit lanes (their sum can pass 2^15) and converted once.
                IntVector p0 = dot0.reinterpretAsInts();
                IntVector p1 = dot1.reinterpretAsInts();
                sum0 = ((FloatVector) p0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                        .add(p0.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0))
                        .fma(scale0, sum0);
                sum1 = ((FloatVector) p1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                        .add(p1.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0))
                        .fma(scale1, sum1);
            }
        }
        store(y, bias, row0, sum0.reduceLanes(VectorOperators.ADD));
        store(y, bias, row1, sum1.reduceLanes(VectorOperators.ADD));
    }

    /**
     * Q4_0 rows {@code row0} and {@code row1} (may be the same row) against x quantized per block
     * ({@link BlockQuantizedX}), in 16-bit integers, written to y with the bias. Each block's 16 bytes widen to 16
     * shorts, whose low and high nibbles multiply x's first and second 16 values; the 16 sums are converted to
     * floats and scaled once per block, with 8-lane vectors as 8 sums of neighbours added in 32-bit lanes as in
     * {@link #dotQ4Pairs} (with {@code -XX:UseAVX=2} here: one core 14.5 instead of 7-9 GB/s against converting the
     * 16 in two halves, the 7B model 6.3 instead of 4.6 tokens/s). The nibbles are taken unsigned (0-15): the
     * block's 8·d·Σx is subtracted once per row, from {@code xq}'s offsets. For 8-lane vectors, and for odd block
     * counts on 16 lanes.
     */
    private static void dotQ4(MemorySegment w, int row0, int row1, BlockQuantizedX xq, int k, MemorySegment bias,
                              MemorySegment y) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        float offset0 = 0;
        float offset1 = 0;
        byte[] values = xq.values;
        float[] scales = xq.scales;
        float[] offsets = xq.offsets;
        int bytes = DType.Q4_0.blockBytes();
        int half = BLOCK / 2;
        int blocks = k / BLOCK;
        long row0Start = (long) row0 * blocks * bytes;
        long row1Start = (long) row1 * blocks * bytes;
        for (int b = 0; b < blocks; b++) {
            long block0 = row0Start + (long) b * bytes;
            long block1 = row1Start + (long) b * bytes;
            ShortVector low = (ShortVector) ByteVector.fromArray(HALF_BLOCK_BYTES, values, b * BLOCK)
                    .convertShape(VectorOperators.B2S, HALF_BLOCK_SHORTS, 0);
            ShortVector high = (ShortVector) ByteVector.fromArray(HALF_BLOCK_BYTES, values, b * BLOCK + half)
                    .convertShape(VectorOperators.B2S, HALF_BLOCK_SHORTS, 0);
            ShortVector packed0 = (ShortVector) ByteVector.fromMemorySegment(HALF_BLOCK_BYTES, w, block0 + 2, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, HALF_BLOCK_SHORTS, 0);
            ShortVector packed1 = (ShortVector) ByteVector.fromMemorySegment(HALF_BLOCK_BYTES, w, block1 + 2, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, HALF_BLOCK_SHORTS, 0);
            ShortVector dot0 = packed0.and((short) 0x0F).mul(low)
                    .add(packed0.lanewise(VectorOperators.LSHR, 4).mul(high));
            ShortVector dot1 = packed1.and((short) 0x0F).mul(low)
                    .add(packed1.lanewise(VectorOperators.LSHR, 4).mul(high));
            float d0 = Float.float16ToFloat(w.get(DType.SHORT, block0));
            float d1 = Float.float16ToFloat(w.get(DType.SHORT, block1));
            FloatVector scale0 = FloatVector.broadcast(F, d0 * scales[b]);
            FloatVector scale1 = FloatVector.broadcast(F, d1 * scales[b]);
            if (F.length() == 16) {
                sum0 = ((FloatVector) dot0.convertShape(VectorOperators.S2F, F, 0)).fma(scale0, sum0);
                sum1 = ((FloatVector) dot1.convertShape(VectorOperators.S2F, F, 0)).fma(scale1, sum1);
            } else {
                IntVector p0 = dot0.reinterpretAsInts();
                IntVector p1 = dot1.reinterpretAsInts();
                sum0 = ((FloatVector) p0.mul(0x10001)
                        .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(scale0, sum0);
                sum1 = ((FloatVector) p1.mul(0x10001)
                        .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(scale1, sum1);
            }
            offset0 = Math.fma(d0, offsets[b], offset0);
            offset1 = Math.fma(d1, offsets[b], offset1);
        }
        store(y, bias, row0, sum0.reduceLanes(VectorOperators.ADD) - offset0);
        store(y, bias, row1, sum1.reduceLanes(VectorOperators.ADD) - offset1);
    }

    /**
     * {@link #dotQ4} two blocks per step, for 16 float lanes and an even number of blocks: a step's products are
     * 32 shorts (each a sum of two, at most 2·15·127 in magnitude), whose neighbours are added in 32-bit lanes as
     * {@code (v · 0x10001) >> 16} (the top half of that product is the two shorts' sum, exact below 2^15) and
     * converted to floats once for both blocks. Fewer instructions per block than {@link #dotQ4}: one core read
     * 19 instead of 16.4 GB/s in cache, two threads 37 instead of 32 GB/s from memory (7B shapes). The one multiply
     * for the neighbours' sum replaced a shift and an add: one core 20.4 instead of 19.4 GB/s from memory, two
     * threads 39 instead of 37 (K = 4096); with 8 lanes in {@link #dotQ4} 15.7 instead of 14.8 on one core.
     */
    private static void dotQ4Pairs(MemorySegment w, int row0, int row1, BlockQuantizedX xq, int k,
                                   MemorySegment bias, MemorySegment y) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        float offset0 = 0;
        float offset1 = 0;
        byte[] paired = xq.paired;
        float[] scales = xq.scales;
        float[] offsets = xq.offsets;
        int bytes = DType.Q4_0.blockBytes();
        int blocks = k / BLOCK;
        long row0Start = (long) row0 * blocks * bytes;
        long row1Start = (long) row1 * blocks * bytes;
        for (int b = 0; b < blocks; b += 2) {
            long block0 = row0Start + (long) b * bytes;
            long block1 = row1Start + (long) b * bytes;
            ShortVector low = (ShortVector) ByteVector.fromArray(PAIR_BYTES, paired, b * BLOCK)
                    .convertShape(VectorOperators.B2S, PAIR_SHORTS, 0);
            ShortVector high = (ShortVector) ByteVector.fromArray(PAIR_BYTES, paired, b * BLOCK + BLOCK)
                    .convertShape(VectorOperators.B2S, PAIR_SHORTS, 0);
            ShortVector packed0 = (ShortVector) ByteVector.fromMemorySegment(PAIR_BYTES, w, block0 + 2, LE)
                    .blend(ByteVector.fromMemorySegment(PAIR_BYTES, w, block0 + 4, LE), SECOND_BLOCK_BYTES)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, PAIR_SHORTS, 0);
            ShortVector packed1 = (ShortVector) ByteVector.fromMemorySegment(PAIR_BYTES, w, block1 + 2, LE)
                    .blend(ByteVector.fromMemorySegment(PAIR_BYTES, w, block1 + 4, LE), SECOND_BLOCK_BYTES)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, PAIR_SHORTS, 0);
            IntVector p0 = packed0.and((short) 0x0F).mul(low).add(packed0.lanewise(VectorOperators.LSHR, 4).mul(high))
                    .reinterpretAsInts();
            IntVector p1 = packed1.and((short) 0x0F).mul(low).add(packed1.lanewise(VectorOperators.LSHR, 4).mul(high))
                    .reinterpretAsInts();
            IntVector dot0 = p0.mul(0x10001).lanewise(VectorOperators.ASHR, 16);
            IntVector dot1 = p1.mul(0x10001).lanewise(VectorOperators.ASHR, 16);
            float d00 = Float.float16ToFloat(w.get(DType.SHORT, block0));
            float d01 = Float.float16ToFloat(w.get(DType.SHORT, block0 + bytes));
            float d10 = Float.float16ToFloat(w.get(DType.SHORT, block1));
            float d11 = Float.float16ToFloat(w.get(DType.SHORT, block1 + bytes));
            FloatVector xs = FloatVector.broadcast(F, scales[b]).blend(scales[b + 1], SECOND_BLOCK_SUMS);
            sum0 = ((FloatVector) dot0.convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, d00).blend(d01, SECOND_BLOCK_SUMS).mul(xs), sum0);
            sum1 = ((FloatVector) dot1.convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, d10).blend(d11, SECOND_BLOCK_SUMS).mul(xs), sum1);
            offset0 = Math.fma(d00, offsets[b], Math.fma(d01, offsets[b + 1], offset0));
            offset1 = Math.fma(d10, offsets[b], Math.fma(d11, offsets[b + 1], offset1));
        }
        store(y, bias, row0, sum0.reduceLanes(VectorOperators.ADD) - offset0);
        store(y, bias, row1, sum1.reduceLanes(VectorOperators.ADD) - offset1);
    }

    /** {@code y[row] = sum + bias[row]}. */
    private static void store(MemorySegment y, MemorySegment bias, int row, float sum) {
        y.set(DType.FLOAT, 4L * row, sum + (bias == null ? 0 : bias.get(DType.FLOAT, 4L * row)));
    }

    /**
     * One row of x quantized per block of 32 for the quantized products, as llama.cpp quantizes it for its Q8_0 and
     * Q4_0 dot products (a {@code block_q8_0}): {@code x[p] ≈ values[p]·scales[p / 32]} with integers of magnitude
     * up to {@link #LEVELS},
     * and {@code offsets[b] = 8·scales[b]·Σ values} over block b (Q4_0's nibbles are offset by 8). Bytes keep x in
     * L1 next to the weights streaming through: at K = 11008, x in shorts (22 KB) was evicted and one core read
     * 18 GB/s of Q8_0 from DRAM, in bytes 30 GB/s. Each value errs by at most 1/254 of its block's largest |x|,
     * plus 2^-11 of it for the scale's rounding to F16.
     */
    static final class BlockQuantizedX {
        static final int LEVELS = 127;
        byte[] values = new byte[0];
        float[] scales = new float[0];
        float[] offsets = new float[0];
        /**
         * The values again, per pair of blocks: both blocks' first 16, then both blocks' second 16 (the values a
         * Q4_0 pair's low and high nibbles multiply, for {@link #dotQ4Pairs}); an odd last block is left out.
         * Written only where that kernel runs (16 lanes).
         */
        byte[] paired = new byte[0];

        BlockQuantizedX quantize(MemorySegment x, int k) {
            int blocks = k / BLOCK;
            if (values.length < blocks * BLOCK) {
                values = new byte[blocks * BLOCK];
                paired = new byte[blocks * BLOCK];
                scales = new float[blocks];
                offsets = new float[blocks];
            }
            int lanes = F.length();
            for (int b = 0; b < blocks; b++) {
                long start = 4L * b * BLOCK;
                FloatVector max = FloatVector.zero(F);
                for (int i = 0; i < BLOCK; i += lanes) {
                    max = max.max(FloatVector.fromMemorySegment(F, x, start + 4L * i, LE).abs());
                }
                // ggml's quantize_row_q8_0: rounded half away from zero with the F32 scale, which is then kept
                // as the F16 that block_q8_0 stores.
                float scale = max.reduceLanes(VectorOperators.MAX) / LEVELS;
                float inverse = scale == 0 ? 0 : 1 / scale;
                IntVector sum = IntVector.zero(INTS);
                for (int i = 0; i < BLOCK; i += lanes) {
                    FloatVector scaled = FloatVector.fromMemorySegment(F, x, start + 4L * i, LE).mul(inverse);
                    // |scaled| <= 127: its integer part and fraction are exact, and a fraction of one half or
                    // more rounds the magnitude up (Math.round's rule on the magnitude).
                    FloatVector magnitude = scaled.abs();
                    IntVector whole = (IntVector) magnitude.convert(VectorOperators.F2I, 0);
                    FloatVector fraction = magnitude.sub((FloatVector) whole.convert(VectorOperators.I2F, 0));
                    IntVector rounded = whole.add(1, fraction.compare(VectorOperators.GE, 0.5f).cast(INTS));
                    IntVector value = rounded.lanewise(VectorOperators.NEG,
                            scaled.compare(VectorOperators.LT, 0).cast(INTS));
                    ByteVector bytes = (ByteVector) value.convertShape(VectorOperators.I2B, QUARTERS, 0);
                    bytes.intoArray(values, b * BLOCK + i);
                    if (Q4_0_PAIRS && b < blocks - blocks % 2) {
                        // Half i / 16 of block b goes to that half's 32 bytes of the pair, the even block first.
                        int half = BLOCK / 2;
                        bytes.intoArray(paired, (b & ~1) * BLOCK + i / half * BLOCK + (b & 1) * half + i % half);
                    }
                    sum = sum.add(value);
                }
                scales[b] = Float.float16ToFloat(Float.floatToFloat16(scale));
                offsets[b] = 8 * scales[b] * sum.reduceLanes(VectorOperators.ADD);
            }
            return this;
        }
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
