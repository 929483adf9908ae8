package dev.dpn.runtime.eval;

import java.util.List;
import java.util.Map;

/**
 * The outcome of an {@link Evaluation}.
 *
 * @param byType          accuracy per question type, in the split's order of first appearance
 * @param meanLlmFlops    mean LLM prefill FLOPs per request, as run
 * @param meanUnpooledFlops mean LLM prefill FLOPs the same requests take without pooling
 * @param routing         per question type, per DPE layer, how often each kernel was chosen ("skipped" if none)
 * @param answers         the answers given, in example order
 */
public record EvalResult(Map<String, Tally> byType, Tally overall, double meanLlmFlops, double meanUnpooledFlops,
        Map<String, Map<Integer, Map<String, Integer>>> routing, List<String> answers) {

    /** The share of LLM prefill FLOPs pooling saved on this split. */
    public double flopsSaving() {
        return meanUnpooledFlops == 0 ? 0 : 1 - meanLlmFlops / meanUnpooledFlops;
    }
}
