package dev.dpn.kernels.cpu;

import static dev.dpn.kernels.cpu.MatMulWeights.F16_BITS;
import static dev.dpn.kernels.cpu.MatMulWeights.F16_MAX_FINITE;
import static dev.dpn.kernels.cpu.MatMulWeights.F16_SCALE;
import static dev.dpn.kernels.cpu.MatMulWeights.HALVES;
import static dev.dpn.kernels.cpu.MatMulWeights.INTS;
import static java.nio.ByteOrder.LITTLE_ENDIAN;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Scaled dot-product attention over a key/value cache, one (query row, head) at a time with a full row of scores.
 *
 * <p>Why a scores row rather than an online (flash) softmax: the row costs kvLength floats per thread (16 KB at a
 * 4096 context, resident in L1/L2), it keeps the reference's exact two-pass max-subtracted softmax, and the
 * exponentials run as one vector pass over contiguous memory instead of rescaling the output for every key block.
 *
 * <p>Work is split into (query block, head) tasks. A block of consecutive queries of one head re-reads the same
 * keys and values while they are hot in cache; the blocks of the last queries, which see the most keys under a
 * causal mask, are handed out first so that the dynamic scheduling of {@link Parallel} ends balanced. A single
 * query (a decode step) is split over cache positions instead, see {@link #attendOne}.
 */
final class Attention {
    /** Queries per task: enough to reuse one head's keys and values from cache, few enough to balance. */
    private static final int QUERY_BLOCK = 16;
    /** Each thread's scores row, grown to the longest cache seen; kept so that decoding allocates nothing. */
    private static final ThreadLocal<MemorySegment> SCORES = ThreadLocal.withInitial(() -> MemorySegment.NULL);
    /** Cache positions per task of a decode step: about a megabyte of keys and values at 7B, many tasks to balance. */
    static final int DECODE_POSITIONS = 32;
    /** The caller's per-task, per-head partial results of a decode step, kept so that decoding allocates nothing. */
    private static final ThreadLocal<MemorySegment> DECODE_PARTIALS =
            ThreadLocal.withInitial(() -> MemorySegment.NULL);

    private Attention() {
    }

    /** The dimensions every task shares. */
    private record Shape(int tokens, int kvLength, int heads, int headsPerKvHead, int headDim, int kvWidth,
                         boolean causal, float scale, boolean halfCache) {
    }

    static void attention(Parallel parallel, Tensor q, Tensor k, Tensor v, int kvLength, int heads, int kvHeads,
                          boolean causal, float scale, Tensor out) {
        int tokens = Math.toIntExact(q.rowCount());
        int headDim = q.intDim(-1) / heads;
        Shape shape = new Shape(tokens, kvLength, heads, heads / kvHeads, headDim, kvHeads * headDim, causal, scale,
                k.dtype() == DType.F16);
        MemorySegment qs = q.data(), ks = k.data(), vs = v.data(), os = out.data();
        if (tokens == 1) {
            attendOne(parallel, shape, qs, ks, vs, os);
            return;
        }
        int blocks = Math.ceilDiv(tokens, QUERY_BLOCK);
        long workPerTask = (long) Math.min(tokens, QUERY_BLOCK) * kvLength * headDim;
        RowChunks.run(parallel, (long) blocks * heads, workPerTask, (from, to) -> {
            MemorySegment scores = scratch(SCORES, kvLength);
            for (long task = from; task < to; task++) {
                int block = blocks - 1 - (int) (task / heads);
                int head = (int) (task % heads);
                for (int t = block * QUERY_BLOCK; t < Math.min(tokens, (block + 1) * QUERY_BLOCK); t++) {
                    attend(shape, qs, ks, vs, os, t, head, scores);
                }
            }
        });
    }

    /** out[t, head] = softmax(q·Kᵀ · scale) · V over the cache rows query t may see. */
    private static void attend(Shape shape, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out,
                               int t, int head, MemorySegment scores) {
        int headDim = shape.headDim;
        long kvOffset = (long) (head / shape.headsPerKvHead) * headDim;
        long queryOffset = ((long) t * shape.heads + head) * headDim;
        int visible = shape.causal ? shape.kvLength - shape.tokens + t + 1 : shape.kvLength;

        float max = Float.NEGATIVE_INFINITY;
        for (int s = 0; s < visible; s++) {
            long key = (long) s * shape.kvWidth + kvOffset;
            float score = (shape.halfCache ? dotHalf(q, queryOffset, k, key, headDim)
                    : dot(q, queryOffset, k, key, headDim)) * shape.scale;
            F32.set(scores, s, score);
            max = Math.max(max, score);
        }
        float sum = Softmax.exponentiate(scores, 0, visible, 1f, max);

        // out = Σ weight·value / sum, two value rows per pass over the output row; an odd last row pairs with
        // itself at weight 0, which adds nothing to finite values.
        zero(out, queryOffset, headDim);
        for (int s = 0; s < visible; s += 2) {
            boolean pair = s + 1 < visible;
            addValues(shape, F32.get(scores, s), pair ? F32.get(scores, s + 1) : 0f, v,
                    (long) s * shape.kvWidth + kvOffset, pair ? shape.kvWidth : 0, out, queryOffset);
        }
        Elementwise.scale(out, queryOffset, 1 / sum, out, queryOffset, headDim);
    }

    /**
     * The one query of a decode step, split over the cache positions rather than the heads (flash-decoding): a
     * task reads its positions' keys and values for all heads, whole cache rows one after the other. Split by
     * head, each task read one head's 512 bytes of every row, a row (16 KB at 7B) apart: 16 GB/s, 39 ms per token
     * for the 32 layers of a 7B model at 600 positions on 2 threads; split by position, 22-29 ms. Each task leaves,
     * per head, its max score, its sum of exponentials and its weighted sum of values; the caller merges them.
     */
    private static void attendOne(Parallel parallel, Shape shape, MemorySegment q, MemorySegment k, MemorySegment v,
                                  MemorySegment out) {
        int chunks = Math.ceilDiv(shape.kvLength, DECODE_POSITIONS);
        int stride = shape.headDim + 2;
        MemorySegment parts = scratch(DECODE_PARTIALS, (long) chunks * shape.heads * stride);
        parallel.run(chunks, chunk -> attendPositions(shape, q, k, v, parts, chunk));
        for (int head = 0; head < shape.heads; head++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int chunk = 0; chunk < chunks; chunk++) {
                max = Math.max(max, F32.get(parts, ((long) chunk * shape.heads + head) * stride));
            }
            float sum = 0;
            for (int chunk = 0; chunk < chunks; chunk++) {
                long at = ((long) chunk * shape.heads + head) * stride;
                sum += (float) Math.exp(F32.get(parts, at) - max) * F32.get(parts, at + 1);
            }
            long outAt = (long) head * shape.headDim;
            for (int chunk = 0; chunk < chunks; chunk++) {
                long at = ((long) chunk * shape.heads + head) * stride;
                float weight = (float) Math.exp(F32.get(parts, at) - max) / sum;
                if (chunk == 0) {
                    Elementwise.scale(parts, at + 2, weight, out, outAt, shape.headDim);
                } else {
                    addScaledPair(weight, 0f, parts, at + 2, 0, out, outAt, shape.headDim);
                }
            }
        }
    }

    /** Positions {@code [chunk·DECODE_POSITIONS, …)} of a decode step, for every head: see {@link #attendOne}. */
    private static void attendPositions(Shape shape, MemorySegment q, MemorySegment k, MemorySegment v,
                                        MemorySegment parts, int chunk) {
        int headDim = shape.headDim;
        int from = chunk * DECODE_POSITIONS;
        int count = Math.min(shape.kvLength - from, DECODE_POSITIONS);
        MemorySegment scores = scratch(SCORES, (long) shape.heads * DECODE_POSITIONS);
        for (int s = 0; s < count; s++) {
            long row = (long) (from + s) * shape.kvWidth;
            for (int head = 0; head < shape.heads; head++) {
                long key = row + (long) (head / shape.headsPerKvHead) * headDim;
                long query = (long) head * headDim;
                F32.set(scores, (long) head * DECODE_POSITIONS + s, (shape.halfCache
                        ? dotHalf(q, query, k, key, headDim) : dot(q, query, k, key, headDim)) * shape.scale);
            }
        }
        int stride = headDim + 2;
        for (int head = 0; head < shape.heads; head++) {
            long at = (long) head * DECODE_POSITIONS;
            float max = Float.NEGATIVE_INFINITY;
            for (int s = 0; s < count; s++) {
                max = Math.max(max, F32.get(scores, at + s));
            }
            long part = ((long) chunk * shape.heads + head) * stride;
            F32.set(parts, part, max);
            F32.set(parts, part + 1, Softmax.exponentiate(scores, at, count, 1f, max));
            zero(parts, part + 2, headDim);
        }
        for (int s = 0; s < count; s += 2) {
            boolean pair = s + 1 < count;
            long row = (long) (from + s) * shape.kvWidth;
            for (int head = 0; head < shape.heads; head++) {
                long at = (long) head * DECODE_POSITIONS + s;
                long kvOffset = (long) (head / shape.headsPerKvHead) * headDim;
                addValues(shape, F32.get(scores, at), pair ? F32.get(scores, at + 1) : 0f, v, row + kvOffset,
                        pair ? shape.kvWidth : 0, parts, ((long) chunk * shape.heads + head) * stride + 2);
            }
        }
    }

    /** y[yIndex, +headDim) += w0·v[vIndex] + w1·v[vIndex + stride], from a cache of the shape's type. */
    private static void addValues(Shape shape, float w0, float w1, MemorySegment v, long vIndex, int stride,
                                  MemorySegment y, long yIndex) {
        if (shape.halfCache) {
            addScaledPairHalf(w0, w1, v, vIndex, stride, y, yIndex, shape.headDim);
        } else {
            addScaledPair(w0, w1, v, vIndex, stride, y, yIndex, shape.headDim);
        }
    }

    private static void zero(MemorySegment y, long index, int n) {
        y.asSlice(index * Float.BYTES, (long) n * Float.BYTES).fill((byte) 0);
    }

    private static float dot(MemorySegment a, long aIndex, MemorySegment b, long bIndex, int n) {
        FloatVector acc = FloatVector.zero(F32.SPECIES);
        int i = 0;
        for (int bound = F32.SPECIES.loopBound(n); i < bound; i += F32.LANES) {
            FloatVector x = FloatVector.fromMemorySegment(F32.SPECIES, a, (aIndex + i) * Float.BYTES, LITTLE_ENDIAN);
            FloatVector y = FloatVector.fromMemorySegment(F32.SPECIES, b, (bIndex + i) * Float.BYTES, LITTLE_ENDIAN);
            acc = x.fma(y, acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum = Math.fma(F32.get(a, aIndex + i), F32.get(b, bIndex + i), sum);
        }
        return sum;
    }

    /**
     * y += w0·x[i] + w1·x[i + stride] over n elements: two value rows per pass halve the loads and stores of y.
     */
    private static void addScaledPair(float w0, float w1, MemorySegment x, long xIndex, int stride, MemorySegment y,
                                      long yIndex, int n) {
        FloatVector weight0 = FloatVector.broadcast(F32.SPECIES, w0);
        FloatVector weight1 = FloatVector.broadcast(F32.SPECIES, w1);
        int i = 0;
        for (int bound = F32.SPECIES.loopBound(n); i < bound; i += F32.LANES) {
            long x0 = (xIndex + i) * Float.BYTES, x1 = (xIndex + stride + i) * Float.BYTES;
            long yOffset = (yIndex + i) * Float.BYTES;
            FloatVector yv = FloatVector.fromMemorySegment(F32.SPECIES, y, yOffset, LITTLE_ENDIAN);
            yv = FloatVector.fromMemorySegment(F32.SPECIES, x, x0, LITTLE_ENDIAN).fma(weight0, yv);
            yv = FloatVector.fromMemorySegment(F32.SPECIES, x, x1, LITTLE_ENDIAN).fma(weight1, yv);
            yv.intoMemorySegment(y, yOffset, LITTLE_ENDIAN);
        }
        for (; i < n; i++) {
            float yi = Math.fma(w0, F32.get(x, xIndex + i), F32.get(y, yIndex + i));
            F32.set(y, yIndex + i, Math.fma(w1, F32.get(x, xIndex + stride + i), yi));
        }
    }

    /*
     * An F16 cache (half the bytes of F32 for a decode step to read) is converted as MatMulWeights.decode converts
     * F16 weights, Inf and NaN included, written out in each loop for the JIT (see F32).
     */

    /** {@link #dot} with b in F16. */
    private static float dotHalf(MemorySegment a, long aIndex, MemorySegment b, long bIndex, int n) {
        FloatVector acc = FloatVector.zero(F32.SPECIES);
        int i = 0;
        for (int bound = F32.SPECIES.loopBound(n); i < bound; i += F32.LANES) {
            FloatVector x = FloatVector.fromMemorySegment(F32.SPECIES, a, (aIndex + i) * Float.BYTES, LITTLE_ENDIAN);
            IntVector h = (IntVector) ShortVector.fromMemorySegment(HALVES, b, (bIndex + i) * Short.BYTES,
                    LITTLE_ENDIAN).convertShape(VectorOperators.S2I, INTS, 0);
            FloatVector y = h.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats();
            acc = x.fma(y, acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum = Math.fma(F32.get(a, aIndex + i), DType.F16.getFloat(b, bIndex + i), sum);
        }
        return sum;
    }

    /** {@link #addScaledPair} with x in F16. */
    private static void addScaledPairHalf(float w0, float w1, MemorySegment x, long xIndex, int stride,
                                          MemorySegment y, long yIndex, int n) {
        FloatVector weight0 = FloatVector.broadcast(F32.SPECIES, w0);
        FloatVector weight1 = FloatVector.broadcast(F32.SPECIES, w1);
        int i = 0;
        for (int bound = F32.SPECIES.loopBound(n); i < bound; i += F32.LANES) {
            long yOffset = (yIndex + i) * Float.BYTES;
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(HALVES, x, (xIndex + i) * Short.BYTES,
                    LITTLE_ENDIAN).convertShape(VectorOperators.S2I, INTS, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(HALVES, x, (xIndex + stride + i) * Short.BYTES,
                    LITTLE_ENDIAN).convertShape(VectorOperators.S2I, INTS, 0);
            FloatVector x0 = h0.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h0.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats();
            FloatVector x1 = h1.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE)
                    .reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000,
                            h1.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE)).reinterpretAsFloats();
            FloatVector yv = FloatVector.fromMemorySegment(F32.SPECIES, y, yOffset, LITTLE_ENDIAN);
            x1.fma(weight1, x0.fma(weight0, yv)).intoMemorySegment(y, yOffset, LITTLE_ENDIAN);
        }
        for (; i < n; i++) {
            float yi = Math.fma(w0, DType.F16.getFloat(x, xIndex + i), F32.get(y, yIndex + i));
            F32.set(y, yIndex + i, Math.fma(w1, DType.F16.getFloat(x, xIndex + stride + i), yi));
        }
    }

    /** This thread's segment in {@code holder}, grown to hold at least {@code floats} floats. */
    private static MemorySegment scratch(ThreadLocal<MemorySegment> holder, long floats) {
        MemorySegment segment = holder.get();
        if (segment.byteSize() < floats * Float.BYTES) {
            segment = Arena.ofAuto().allocate(floats * Float.BYTES, 64);
            holder.set(segment);
        }
        return segment;
    }
}
