package dev.dpn.loader.tokenizer;

/**
 * How BPE chooses the next pair of adjacent pieces to merge. The two file formats say it differently; the orders
 * they give Llama's vocabulary encode alike.
 */
public sealed interface MergeOrder {

    /**
     * Hugging Face's {@code tokenizer.json}: merge {@code i} joins pieces {@code left[i]} and {@code right[i]} into
     * {@code merged[i]}; the lowest {@code i} among the pairs present goes first. The arrays are not copied.
     */
    record Ranked(int[] left, int[] right, int[] merged) implements MergeOrder {
    }

    /**
     * SentencePiece's {@code tokenizer.model}: any two adjacent pieces whose concatenation is a normal piece may
     * merge, and the pair making the highest-scoring piece goes first. Indexed by piece id; not copied.
     */
    record Scored(float[] scores) implements MergeOrder {
    }
}
