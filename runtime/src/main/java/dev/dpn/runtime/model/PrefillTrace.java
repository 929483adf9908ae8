package dev.dpn.runtime.model;

import java.util.List;

/**
 * What a request's prefill did, for statistics: the pooling decisions and what each decoder layer saw.
 *
 * @param promptTokens the prompt's ids, the image placeholder included
 * @param visualGrid   the visual tokens spliced in for the placeholder ({@link Grid#NONE} without an image)
 * @param layerTokens  per decoder layer, the sequence length it ran on (for FLOPs)
 * @param layerGrids   per decoder layer, the visual grid within that sequence
 * @param decisions    one per DPE layer reached, in layer order
 * @param embedNanos   time spent before the first decoder layer: vision tower, projector, text embedding
 * @param visionTowerNanos the vision tower's part of it (0 without an image)
 * @param projectorNanos   the projector's part of it (0 without an image)
 */
public record PrefillTrace(int promptTokens, Grid visualGrid, List<Integer> layerTokens, List<Grid> layerGrids,
        List<PoolingDecision> decisions, long embedNanos, long visionTowerNanos, long projectorNanos) {

    public PrefillTrace {
        layerTokens = List.copyOf(layerTokens);
        layerGrids = List.copyOf(layerGrids);
        decisions = List.copyOf(decisions);
    }
}
