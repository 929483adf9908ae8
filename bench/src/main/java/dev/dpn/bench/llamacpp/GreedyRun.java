package dev.dpn.bench.llamacpp;

import java.util.List;

/**
 * One engine's greedy continuation of a text prompt, timed: the prompt's processing up to the first generated
 * token, then the decode steps after it.
 *
 * @param promptTokens  the prompt as the engine tokenized it, the beginning-of-sequence token included
 * @param promptSeconds from the request to the first generated token
 * @param decodeSeconds from the first generated token to the last
 * @param pieces        each generated token's text, in order
 */
record GreedyRun(int promptTokens, double promptSeconds, double decodeSeconds, List<String> pieces) {

    double promptTokensPerSecond() {
        return promptTokens / promptSeconds;
    }

    /** Tokens after the first over the time they took: the first comes from the prompt's own logits. */
    double decodeTokensPerSecond() {
        return (pieces.size() - 1) / decodeSeconds;
    }

    /** How many generated tokens, from the first, read the same in both runs (leading spaces aside). */
    int agreeingTokens(GreedyRun other) {
        int n = 0;
        while (n < pieces.size() && n < other.pieces.size()
                && pieces.get(n).strip().equals(other.pieces.get(n).strip())) {
            n++;
        }
        return n;
    }
}
