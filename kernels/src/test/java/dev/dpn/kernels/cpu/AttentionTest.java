package dev.dpn.kernels.cpu;

import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AttentionTest {
    /**
     * Scores are float dot products of up to 64 terms (error ~1e-6 on values of a few units), which shift the
     * weights by about that much relative; the output, a convex combination of values in [−1, 1], moves by the
     * same order. 1e-5 absolute leaves a decade of margin.
     */
    private static final Tolerance TOLERANCE = new Tolerance(1e-5, 0);

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void causalPrefillOverTheWholeCache(int threads) {
        check(threads, 37, 37, 37, 4, 4, 19, true);
    }

    /** CLIP's encoder: every token sees every token. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void nonCausal(int threads) {
        check(threads, 23, 23, 23, 3, 3, 16, false);
    }

    /** Eight query heads read two key/value heads; the new tokens follow 24 cached ones; the cache is not full. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void groupedQueryAttentionAfterACachedPrefix(int threads) {
        check(threads, 5, 29, 40, 8, 2, 12, true);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void decodeOneToken(int threads) {
        check(threads, 1, 50, 64, 4, 4, 32, true);
        check(threads, 1, 1, 8, 2, 1, 7, true);
        // Four query heads per key/value head over a cache of several position chunks, the last one short; an odd
        // head count without a causal mask.
        check(threads, 1, 2 * Attention.DECODE_POSITIONS + 7, 80, 8, 2, 24, true);
        check(threads, 1, 9, 9, 5, 5, 16, false);
    }

    /** Several query blocks per head, so that tasks split across threads and causal blocks differ in length. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void manyQueryBlocks(int threads) {
        check(threads, 45, 60, 60, 4, 2, 64, true);
        check(threads, 45, 45, 45, 2, 2, 33, false);
    }

    /**
     * Compares with the reference, over an F32 and an F16 cache (the reference reads the same F16 values, so the
     * tolerance is the F32 one); cache rows at and beyond kvLength hold NaN, so reading any of them shows.
     */
    private static void check(int threads, int tokens, int kvLength, int capacity, int heads, int kvHeads,
                              int headDim, boolean causal) {
        for (DType cache : new DType[] {DType.F32, DType.F16}) {
            check(threads, tokens, kvLength, capacity, heads, kvHeads, headDim, causal, cache);
        }
    }

    private static void check(int threads, int tokens, int kvLength, int capacity, int heads, int kvHeads,
                              int headDim, boolean causal, DType cache) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(tokens * 31L + kvLength)) {
            Tensor q = tensors.uniform(-1, 1, tokens, (long) heads * headDim);
            Tensor k = tensors.uniform(cache, -1, 1, capacity, (long) kvHeads * headDim);
            Tensor v = tensors.uniform(cache, -1, 1, capacity, (long) kvHeads * headDim);
            for (long i = (long) kvLength * kvHeads * headDim; i < k.size(); i++) {
                k.setFloat(i, Float.NaN);
                v.setFloat(i, Float.NaN);
            }
            float scale = (float) (1 / Math.sqrt(headDim));
            Tensor expected = tensors.zeros(tokens, (long) heads * headDim);
            Tensor actual = tensors.zeros(tokens, (long) heads * headDim);
            scalar.attention(q, k, v, kvLength, heads, kvHeads, causal, scale, expected);
            cpu.attention(q, k, v, kvLength, heads, kvHeads, causal, scale, actual);
            TOLERANCE.assertClose(expected, actual, String.format("attention T=%d kv=%d/%d heads=%d/%d dim=%d %s %s",
                    tokens, kvLength, capacity, heads, kvHeads, headDim, causal ? "causal" : "full", cache));
        }
    }
}
