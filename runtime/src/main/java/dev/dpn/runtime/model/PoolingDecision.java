package dev.dpn.runtime.model;

import dev.dpn.loader.config.Kernel;
import java.util.Arrays;
import java.util.Objects;

/**
 * What one DPE layer did to the visual tokens during prefill.
 *
 * @param layer         the decoder layer it acts on
 * @param gridIn        the visual grid it found ({@link Grid#NONE} without an image)
 * @param gridOut       the grid it left; equal to gridIn when skipped
 * @param expert        the chosen expert's index in the layer's list, or −1 when none was chosen (skipped before)
 * @param kernel        the chosen expert's kernel, or null when none was chosen
 * @param probabilities the router's output, one per expert; empty when no router ran (static, random, skipped)
 * @param skipReason    why the span was left as it was, or null when it was pooled
 */
public record PoolingDecision(int layer, Grid gridIn, Grid gridOut, int expert, Kernel kernel,
        float[] probabilities, String skipReason) {

    public PoolingDecision {
        probabilities = probabilities.clone();
    }

    static PoolingDecision skipped(int layer, Grid grid, String reason) {
        return new PoolingDecision(layer, grid, grid, -1, null, new float[0], reason);
    }

    /** A copy of the router's probabilities. */
    @Override
    public float[] probabilities() {
        return probabilities.clone();
    }

    public boolean pooled() {
        return skipReason == null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PoolingDecision d && layer == d.layer && gridIn.equals(d.gridIn)
                && gridOut.equals(d.gridOut) && expert == d.expert && Objects.equals(kernel, d.kernel)
                && Arrays.equals(probabilities, d.probabilities) && Objects.equals(skipReason, d.skipReason);
    }

    @Override
    public int hashCode() {
        return Objects.hash(layer, gridIn, gridOut, expert, kernel, Arrays.hashCode(probabilities),
                skipReason);
    }

    @Override
    public String toString() {
        return "PoolingDecision[layer " + layer + ", " + gridIn + " -> " + gridOut + ", expert " + expert
                + (kernel == null ? "" : " (" + kernel + ")") + ", p " + Arrays.toString(probabilities)
                + (skipReason == null ? "" : ", skipped: " + skipReason) + "]";
    }
}
