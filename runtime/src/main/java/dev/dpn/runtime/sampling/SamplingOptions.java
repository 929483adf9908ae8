package dev.dpn.runtime.sampling;

/**
 * How the next token is chosen. Temperature 0 is greedy decoding (the other fields are then unused); top-k 0 and
 * top-p 1 switch those filters off.
 *
 * @param temperature divides the logits; 0 for greedy
 * @param topK        keep the k most likely tokens; 0 for all
 * @param topP        keep the most likely tokens whose probabilities add up to p; 1 for all
 * @param seed        seeds the draws, so a request is reproducible
 */
public record SamplingOptions(float temperature, int topK, float topP, long seed) {
    public static final SamplingOptions GREEDY = new SamplingOptions(0, 0, 1, 0);

    public SamplingOptions {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number ≥ 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be ≥ 0 (0 switches it off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must lie in (0, 1] (1 switches it off), got " + topP);
        }
    }

    public boolean isGreedy() {
        return temperature == 0;
    }
}
