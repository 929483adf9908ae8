package dev.dpn.kernels.cpu;

import static dev.dpn.kernels.cpu.MatMulWeights.F;

import dev.dpn.tensors.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Matrix-matrix product for many rows of x (prefill, vision tower): compute-bound, organised as in GotoBLAS.
 *
 * <p>The team splits the columns of y into blocks of {@link #NC}. For each block and each depth slice of
 * {@link #KC}, a thread packs the weights once into a panel of F32 — transposed, so that {@link #NR} consecutive
 * output columns sit side by side for every k — and then sweeps all rows of x over it in micro-tiles of
 * {@link #MR} rows × {@link #NR} columns, whose sums stay in registers for the whole slice: each step broadcasts
 * one x per row and does {@code MR · NR / lanes} FMAs against two panel vectors.
 */
final class Gemm {
    /**
     * Rows of x per micro-tile. The JIT issues all of a step's broadcasts before its FMAs, so a step holds
     * MR × 2 accumulators, 2 panel vectors and MR broadcasts: 14 of the 16 AVX2 registers for 4 rows, while
     * 5 or 6 rows spill an accumulator to the stack and halve the speed.
     */
    static final int MR = 4;
    /** Columns of y per micro-tile: two vectors. */
    static final int NR = 2 * F.length();
    /** Depth of a panel slice: one strip of KC × NR floats (16 KB with AVX2) is reused from L1 by every row tile. */
    static final int KC = 256;
    /** Columns per block: a packed panel of KC × NC floats (128 KB with AVX2) stays in L2. */
    static final int NC = 8 * NR;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Per thread, allocated once and reused by every call. */
    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    /**
     * The packed weights, the current rows of x, one weight row decoded to F32 on its way into the panel, and a
     * micro-tile's sums on their way into y.
     */
    private record Buffers(float[] panel, float[] rows, float[] weights, float[] sums) {
        Buffers() {
            this(new float[KC * NC], new float[MR * KC], new float[KC], new float[MR * NR]);
        }
    }

    private Gemm() {
    }

    static void gemm(Parallel parallel, MemorySegment x, MemorySegment w, DType type, MemorySegment bias,
                     MemorySegment y, int m, int n, int k) {
        int columnBlocks = Math.ceilDiv(n, NC);
        // Fewer than two column blocks per thread cannot balance the team: split the rows too, at the price of
        // packing each column block once per row block.
        int rowSplit = Math.ceilDiv(2 * parallel.threads(), columnBlocks);
        int rowsPerBlock = Math.ceilDiv(Math.ceilDiv(m, rowSplit), MR) * MR;
        int rowBlocks = Math.ceilDiv(m, rowsPerBlock);
        parallel.run(columnBlocks * rowBlocks, task -> {
            int col = (task % columnBlocks) * NC;
            int cols = Math.min(NC, n - col);
            int firstRow = (task / columnBlocks) * rowsPerBlock;
            int endRow = Math.min(m, firstRow + rowsPerBlock);
            Buffers buffers = BUFFERS.get();
            for (int depth0 = 0; depth0 < k; depth0 += KC) {
                int depth = Math.min(KC, k - depth0);
                pack(w, type, k, col, cols, depth0, depth, buffers.weights, buffers.panel);
                for (int row = firstRow; row < endRow; row += MR) {
                    copyRows(x, k, row, endRow, depth0, depth, buffers.rows);
                    for (int s = 0; s < cols; s += NR) {
                        tile(buffers.rows, buffers.panel, s * depth, depth, buffers.sums);
                        store(buffers.sums, y, n, row, Math.min(MR, endRow - row), col + s,
                                Math.min(NR, cols - s), bias, depth0 == 0);
                    }
                }
            }
        });
    }

    /**
     * Packs weights[col, col + cols) × [depth0, depth0 + depth) into strips of NR columns: the strip of columns
     * {@code s..s+NR} starts at {@code s · depth} and holds, for each k, its NR weights side by side. A last strip
     * narrower than NR keeps stale values in its spare columns; they only reach lanes that are never stored.
     */
    private static void pack(MemorySegment w, DType type, int k, int col, int cols, int depth0, int depth,
                             float[] weights, float[] panel) {
        for (int c = 0; c < cols; c++) {
            MatMulWeights.decode(type, w, (long) (col + c) * k + depth0, weights, depth);
            int at = (c - c % NR) * depth + c % NR;
            for (int p = 0; p < depth; p++, at += NR) {
                panel[at] = weights[p];
            }
        }
    }

    /**
     * Copies x[row, row + MR) × [depth0, depth0 + depth) into {@code rows}, row r at {@code r · KC}: the JIT hoists
     * the bounds checks of heap indices out of the micro-kernel, but not those of one segment offset per row. Rows
     * past {@code endRow} repeat the last one, so the micro-kernel has no row tail; their results are dropped.
     */
    private static void copyRows(MemorySegment x, int k, int row, int endRow, int depth0, int depth, float[] rows) {
        for (int r = 0; r < MR; r++) {
            long from = 4 * ((long) Math.min(row + r, endRow - 1) * k + depth0);
            MemorySegment.copy(x, DType.FLOAT, from, rows, r * KC, depth);
        }
    }

    /**
     * The rows of x in {@code rows} times the panel strip at {@code strip}, into {@code sums}: row r at
     * {@code r · NR}. The sums leave through an array, not as vectors handed to a method: the micro-kernel is too
     * large for the JIT to inline a store helper into, and a vector passed to a call that is not inlined is boxed.
     */
    private static void tile(float[] rows, float[] panel, int strip, int depth, float[] sums) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00;
        int lanes = F.length();
        for (int p = 0, at = strip; p < depth; p++, at += NR) {
            FloatVector b0 = FloatVector.fromArray(F, panel, at);
            FloatVector b1 = FloatVector.fromArray(F, panel, at + lanes);
            FloatVector a = FloatVector.broadcast(F, rows[p]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(F, rows[KC + p]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(F, rows[2 * KC + p]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(F, rows[3 * KC + p]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
        }
        c00.intoArray(sums, 0);
        c01.intoArray(sums, lanes);
        c10.intoArray(sums, NR);
        c11.intoArray(sums, NR + lanes);
        c20.intoArray(sums, 2 * NR);
        c21.intoArray(sums, 2 * NR + lanes);
        c30.intoArray(sums, 3 * NR);
        c31.intoArray(sums, 3 * NR + lanes);
    }

    /**
     * Adds a micro-tile's {@code sums} into y[row, row + rowCount) × [col, col + cols), or stores them plus bias when
     * this is the first depth slice; masks cut the columns past the end.
     */
    private static void store(float[] sums, MemorySegment y, int n, int row, int rowCount, int col, int cols,
                              MemorySegment bias, boolean first) {
        for (int half = 0; half < NR; half += F.length()) {
            VectorMask<Float> mask = F.indexInRange(half, cols);
            FloatVector b = first && bias != null
                    ? FloatVector.fromMemorySegment(F, bias, 4L * (col + half), LE, mask) : FloatVector.zero(F);
            for (int r = 0; r < rowCount; r++) {
                long at = 4 * ((long) (row + r) * n + col + half);
                FloatVector v = FloatVector.fromArray(F, sums, r * NR + half).add(b);
                if (!first) {
                    v = v.add(FloatVector.fromMemorySegment(F, y, at, LE, mask));
                }
                v.intoMemorySegment(y, at, LE, mask);
            }
        }
    }
}
