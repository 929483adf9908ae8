package dev.dpn.runtime;

import dev.dpn.runtime.model.Grid;
import dev.dpn.runtime.model.PoolingDecision;
import java.util.ArrayList;
import java.util.List;

/**
 * What one request did and cost: the pooling decisions, the visual tokens each stage of the decoder saw, LLM
 * prefill FLOPs with and without pooling (DPN.md §5), and timings.
 *
 * @param routing            one decision per DPE layer reached
 * @param stages             runs of decoder layers that saw the same sequence, in order
 * @param promptTokens       prompt ids, the image placeholder counted once
 * @param generatedTokens    tokens generated, an end-of-sequence token included
 * @param llmPrefillFlops    decoder prefill FLOPs as run
 * @param llmPrefillFlopsUnpooled the same prompt without pooling
 * @param visionFlops        vision tower and projector FLOPs
 * @param imageNanos         decoding and preprocessing the image file
 * @param visionNanos        vision tower, projector and text embedding
 * @param visionTowerNanos   the vision tower alone
 * @param projectorNanos     the projector alone
 * @param prefillNanos       the whole prefill, vision included
 * @param ttftNanos          from the request's start to its first generated token
 * @param decodeNanos        all decode steps
 * @param decodeSteps        decode steps run (each yields one more token's logits)
 * @param decodeCacheBytes   key/value cache bytes the decode steps' attention read, all steps together
 */
public record RequestStats(List<PoolingDecision> routing, List<Stage> stages, int promptTokens, int generatedTokens,
        double llmPrefillFlops, double llmPrefillFlopsUnpooled, double visionFlops, long imageNanos,
        long visionNanos, long visionTowerNanos, long projectorNanos, long prefillNanos, long ttftNanos,
        long decodeNanos, int decodeSteps, long decodeCacheBytes) {

    /**
     * Decoder layers {@code firstLayer..lastLayer} ran on {@code sequenceTokens} tokens, {@code grid.tokens()} of
     * them visual.
     */
    public record Stage(int firstLayer, int lastLayer, Grid grid, int sequenceTokens) {
    }

    public RequestStats {
        routing = List.copyOf(routing);
        stages = List.copyOf(stages);
    }

    /** The share of LLM prefill FLOPs that pooling saved, in [0, 1). */
    public double flopsSaving() {
        return llmPrefillFlopsUnpooled == 0 ? 0 : 1 - llmPrefillFlops / llmPrefillFlopsUnpooled;
    }

    /** Sequence tokens through the decoder's prefill per second (the first stage's length over the LLM time). */
    public double prefillTokensPerSecond() {
        long llmNanos = prefillNanos - visionNanos;
        return llmNanos <= 0 || stages.isEmpty() ? 0 : stages.getFirst().sequenceTokens() * 1e9 / llmNanos;
    }

    public double decodeTokensPerSecond() {
        return decodeNanos == 0 ? 0 : decodeSteps * 1e9 / decodeNanos;
    }

    /** Key/value cache bytes one decode step read on average; 0 without decode steps. */
    public double decodeCacheBytesPerStep() {
        return decodeSteps == 0 ? 0 : (double) decodeCacheBytes / decodeSteps;
    }

    /** Groups per-layer token counts into stages: a new stage wherever the sequence changed. */
    static List<Stage> stages(List<Integer> layerTokens, List<Grid> layerGrids) {
        List<Stage> stages = new ArrayList<>();
        int first = 0;
        for (int i = 1; i <= layerTokens.size(); i++) {
            if (i == layerTokens.size() || !layerTokens.get(i).equals(layerTokens.get(first))
                    || !layerGrids.get(i).equals(layerGrids.get(first))) {
                stages.add(new Stage(first, i - 1, layerGrids.get(first), layerTokens.get(first)));
                first = i;
            }
        }
        return stages;
    }
}
