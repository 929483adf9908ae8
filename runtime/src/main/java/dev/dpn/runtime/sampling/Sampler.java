package dev.dpn.runtime.sampling;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy at temperature 0, otherwise temperature, then top-k, then
 * top-p (nucleus) filtering, then a draw from a seeded generator, in the order HF transformers applies them.
 *
 * <p>Buffers are sized to the vocabulary once, so sampling allocates nothing per token. Not thread-safe: one
 * sampler per generation.
 */
public final class Sampler {
    private final SamplingOptions options;
    private final SplittableRandom random;
    private final float[] probabilities;
    private final int[] candidates;
    private final long[] sortKeys;

    public Sampler(SamplingOptions options, int vocabularySize) {
        this.options = options;
        this.random = new SplittableRandom(options.seed());
        this.probabilities = new float[vocabularySize];
        this.candidates = new int[vocabularySize];
        this.sortKeys = new long[vocabularySize];
    }

    /** The next token for {@code logits}, a row of at least the vocabulary size (extra padded entries are ignored). */
    public int sample(float[] logits) {
        int n = probabilities.length;
        if (options.isGreedy()) {
            return argmax(logits, n);
        }
        int count = topK(logits, n);
        float max = logits[candidates[0]];
        double sum = 0;
        for (int i = 0; i < count; i++) {
            float p = (float) Math.exp((logits[candidates[i]] - max) / options.temperature());
            probabilities[i] = p;
            sum += p;
        }
        count = topP(count, sum);
        double total = 0;
        for (int i = 0; i < count; i++) {
            total += probabilities[i];
        }
        double draw = random.nextDouble() * total;
        for (int i = 0; i < count - 1; i++) {
            draw -= probabilities[i];
            if (draw < 0) {
                return candidates[i];
            }
        }
        return candidates[count - 1];
    }

    static int argmax(float[] logits, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Fills {@link #candidates} with the {@code k} most likely tokens, most likely first (the whole vocabulary when
     * top-k is off) and returns how many there are.
     */
    private int topK(float[] logits, int n) {
        int k = options.topK() > 0 ? Math.min(options.topK(), n) : n;
        for (int i = 0; i < n; i++) {
            candidates[i] = i;
        }
        if (k < n) {
            select(logits, n, k);
        }
        sortByLogit(logits, k);
        return k;
    }

    /** Keeps the smallest prefix of candidates whose probability mass reaches top-p; returns its length. */
    private int topP(int count, double sum) {
        if (options.topP() >= 1) {
            return count;
        }
        double mass = 0;
        for (int i = 0; i < count; i++) {
            mass += probabilities[i] / sum;
            if (mass >= options.topP()) {
                return i + 1;
            }
        }
        return count;
    }

    /** Quickselect: moves the k largest logits' indices to the front of {@link #candidates}, in no order. */
    private void select(float[] logits, int n, int k) {
        int lo = 0, hi = n - 1;
        while (lo < hi) {
            float pivot = logits[candidates[(lo + hi) >>> 1]];
            int i = lo, j = hi;
            while (i <= j) {
                while (logits[candidates[i]] > pivot) {
                    i++;
                }
                while (logits[candidates[j]] < pivot) {
                    j--;
                }
                if (i <= j) {
                    swap(i++, j--);
                }
            }
            if (k - 1 <= j) {
                hi = j;
            } else if (k - 1 >= i) {
                lo = i;
            } else {
                return;
            }
        }
    }

    /** Sorts the first {@code count} candidates by descending logit, ties by ascending id (reproducible draws). */
    private void sortByLogit(float[] logits, int count) {
        for (int i = 0; i < count; i++) {
            int id = candidates[i];
            sortKeys[i] = ((long) ~orderedBits(logits[id]) << 32) | id;
        }
        Arrays.sort(sortKeys, 0, count);
        for (int i = 0; i < count; i++) {
            candidates[i] = (int) sortKeys[i];
        }
    }

    /** The float's bits as an int whose signed order is the floats' order; {@code ~} of it reverses the order. */
    private static int orderedBits(float f) {
        int bits = Float.floatToIntBits(f);
        return bits ^ ((bits >> 31) & 0x7FFFFFFF);
    }

    private void swap(int i, int j) {
        int t = candidates[i];
        candidates[i] = candidates[j];
        candidates[j] = t;
    }
}
