package dev.dpn.runtime;

/**
 * A generated answer.
 *
 * @param text   the decoded answer, without the end-of-sequence token
 * @param tokens the generated token ids, the end-of-sequence token included if it came
 * @param stats  what the request cost and what the pooling chose
 */
public record Generation(String text, int[] tokens, RequestStats stats) {
    public Generation {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }
}
