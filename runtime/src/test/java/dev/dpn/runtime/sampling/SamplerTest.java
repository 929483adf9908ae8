package dev.dpn.runtime.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SamplerTest {
    /** Probabilities 0.5, 0.3, 0.2 at temperature 1, plus a padded fourth entry beyond the vocabulary. */
    private static final float[] LOGITS = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2), 99f};
    private static final int DRAWS = 20_000;

    @Test
    void greedyTakesTheFirstLargestLogitWithinTheVocabulary() {
        Sampler greedy = new Sampler(SamplingOptions.GREEDY, 3);
        assertEquals(0, greedy.sample(LOGITS));
        assertEquals(1, greedy.sample(new float[] {1f, 3f, 3f}));
    }

    @Test
    void drawsFollowTheSoftmaxOfTheLogits() {
        assertFrequencies(new SamplingOptions(1, 0, 1, 7), 0.5, 0.3, 0.2);
    }

    @Test
    void temperatureSharpensOrFlattens() {
        // At temperature T the probabilities are proportional to p^(1/T).
        double a = Math.pow(0.5, 2), b = Math.pow(0.3, 2), c = Math.pow(0.2, 2), s = a + b + c;
        assertFrequencies(new SamplingOptions(0.5f, 0, 1, 8), a / s, b / s, c / s);
    }

    @Test
    void topKAndTopPKeepTheMostLikelyTokens() {
        assertFrequencies(new SamplingOptions(1, 2, 1, 9), 0.5 / 0.8, 0.3 / 0.8, 0);
        // Cumulative mass 0.5, then 0.8 ≥ 0.75: two tokens stay.
        assertFrequencies(new SamplingOptions(1, 0, 0.75f, 10), 0.5 / 0.8, 0.3 / 0.8, 0);
        assertFrequencies(new SamplingOptions(5, 1, 1, 11), 1, 0, 0);
        assertFrequencies(new SamplingOptions(5, 0, 0.01f, 12), 1, 0, 0);
    }

    @Test
    void aSeedReproducesTheDraws() {
        float[] flat = new float[1000];
        int[] first = draws(new Sampler(new SamplingOptions(1, 0, 1, 42), 1000), flat);
        int[] again = draws(new Sampler(new SamplingOptions(1, 0, 1, 42), 1000), flat);
        assertArrayEquals(first, again);
    }

    @Test
    void rejectsOptionsOutOfRange() {
        assertThrows(IllegalArgumentException.class, () -> new SamplingOptions(-1, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingOptions(Float.NaN, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingOptions(1, -1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingOptions(1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingOptions(1, 0, 1.5f, 0));
    }

    private static int[] draws(Sampler sampler, float[] logits) {
        int[] out = new int[64];
        for (int i = 0; i < out.length; i++) {
            out[i] = sampler.sample(logits);
        }
        return out;
    }

    /** Each frequency within 5 standard deviations of a binomial proportion over {@link #DRAWS} draws. */
    private static void assertFrequencies(SamplingOptions options, double... expected) {
        Sampler sampler = new Sampler(options, 3);
        int[] counts = new int[4];
        for (int i = 0; i < DRAWS; i++) {
            counts[sampler.sample(LOGITS)]++;
        }
        assertEquals(0, counts[3], "drew the padded entry beyond the vocabulary");
        for (int t = 0; t < expected.length; t++) {
            double bound = 5 * Math.sqrt(expected[t] * (1 - expected[t]) / DRAWS) + 1e-9;
            double got = counts[t] / (double) DRAWS;
            assertEquals(expected[t], got, bound, "token " + t + " with " + options);
        }
    }
}
