package dev.dpn.kernels.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

import dev.dpn.tensors.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
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
 * causal mask, are handed out first so that the dynamic scheduling of {@link Parallel} ends balanced.
 */
final class Attention {
    /** Queries per task: enough to reuse one head's keys and values from cache, few enough to balance. */
    private static final int QUERY_BLOCK = 16;
    /** Each thread's scores row, grown to the longest cache seen; kept so that decoding allocates nothing. */
    private static final ThreadLocal<MemorySegment> SCORES = ThreadLocal.withInitial(() -> MemorySegment.NULL);

    private Attention() {
    }

    /** The dimensions every task shares. */
    private record Shape(int tokens, int kvLength, int heads, int headsPerKvHead, int headDim, int kvWidth,
                         boolean causal, float scale) {
    }

    static void attention(Parallel parallel, Tensor q, Tensor k, Tensor v, int kvLength, int heads, int kvHeads,
                          boolean causal, float scale, Tensor out) {
        int tokens = Math.toIntExact(q.rowCount());
        int headDim = q.intDim(-1) / heads;
        Shape shape = new Shape(tokens, kvLength, heads, heads / kvHeads, headDim, kvHeads * headDim, causal, scale);
        MemorySegment qs = q.data(), ks = k.data(), vs = v.data(), os = out.data();
        int blocks = Math.ceilDiv(tokens, QUERY_BLOCK);
        long workPerTask = (long) Math.min(tokens, QUERY_BLOCK) * kvLength * headDim;
        RowChunks.run(parallel, (long) blocks * heads, workPerTask, (from, to) -> {
            MemorySegment scores = scoresRow(kvLength);
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
            float score = dot(q, queryOffset, k, (long) s * shape.kvWidth + kvOffset, headDim) * shape.scale;
            F32.set(scores, s, score);
            max = Math.max(max, score);
        }
        float sum = Softmax.exponentiate(scores, 0, visible, 1f, max);

        Elementwise.scale(v, kvOffset, F32.get(scores, 0), out, queryOffset, headDim);
        for (int s = 1; s < visible; s++) {
            addScaled(F32.get(scores, s), v, (long) s * shape.kvWidth + kvOffset, out, queryOffset, headDim);
        }
        Elementwise.scale(out, queryOffset, 1 / sum, out, queryOffset, headDim);
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

    /** y += w · x over n elements. */
    private static void addScaled(float w, MemorySegment x, long xIndex, MemorySegment y, long yIndex, int n) {
        FloatVector weight = FloatVector.broadcast(F32.SPECIES, w);
        int i = 0;
        for (int bound = F32.SPECIES.loopBound(n); i < bound; i += F32.LANES) {
            long yOffset = (yIndex + i) * Float.BYTES;
            FloatVector xv = FloatVector.fromMemorySegment(F32.SPECIES, x, (xIndex + i) * Float.BYTES, LITTLE_ENDIAN);
            FloatVector yv = FloatVector.fromMemorySegment(F32.SPECIES, y, yOffset, LITTLE_ENDIAN);
            xv.fma(weight, yv).intoMemorySegment(y, yOffset, LITTLE_ENDIAN);
        }
        for (; i < n; i++) {
            F32.set(y, yIndex + i, Math.fma(w, F32.get(x, xIndex + i), F32.get(y, yIndex + i)));
        }
    }

    /** This thread's scores row, with room for {@code kvLength} floats. */
    private static MemorySegment scoresRow(int kvLength) {
        MemorySegment scores = SCORES.get();
        if (scores.byteSize() < (long) kvLength * Float.BYTES) {
            scores = Arena.ofAuto().allocate((long) kvLength * Float.BYTES, 64);
            SCORES.set(scores);
        }
        return scores;
    }
}
