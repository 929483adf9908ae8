package dev.dpn.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.dpn.loader.config.Kernel;
import java.util.ArrayList;
import java.util.List;

/** Reading the non-tensor facts the golden generators store as JSON, and the greedy choice they were made with. */
final class GoldenFacts {
    private GoldenFacts() {
    }

    /** A grid stored as [height, width]. */
    static Grid grid(JsonNode pair) {
        return new Grid(pair.get(0).asInt(), pair.get(1).asInt());
    }

    static List<Integer> ints(JsonNode array) {
        List<Integer> values = new ArrayList<>();
        array.forEach(v -> values.add(v.asInt()));
        return values;
    }

    /** The first largest value's index: greedy decoding. */
    static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Compares a pooling decision's router probabilities with the golden ones (null: no router ran). */
    interface ProbabilityCheck {
        void check(JsonNode expected, float[] actual, String where);
    }

    /**
     * Asserts what the golden {@code facts} say each decoder layer saw (tokens, grid) and each DPE layer decided
     * (expert, kernel, grids, skip); the probabilities go to {@code probabilities}.
     */
    static void assertLayersAndDecisions(String name, JsonNode facts, PrefillTrace trace,
            ProbabilityCheck probabilities) {
        assertEquals(ints(facts.get("layer_tokens")), trace.layerTokens(), name + ": tokens per layer");
        List<Grid> grids = new ArrayList<>();
        facts.get("layer_grids").forEach(g -> grids.add(grid(g)));
        assertEquals(grids, trace.layerGrids(), name + ": grid per layer");
        JsonNode expected = facts.get("decisions");
        assertEquals(expected.size(), trace.decisions().size(), name + ": decisions " + trace.decisions());
        for (int i = 0; i < expected.size(); i++) {
            JsonNode e = expected.get(i);
            PoolingDecision actual = trace.decisions().get(i);
            String where = name + ": " + actual;
            assertEquals(e.get("layer").asInt(), actual.layer(), where);
            assertEquals(e.get("expert").isNull() ? -1 : e.get("expert").asInt(), actual.expert(), where);
            JsonNode kernel = e.get("kernel");
            assertEquals(kernel.isNull() ? null : new Kernel(kernel.get(0).asInt(), kernel.get(1).asInt()),
                    actual.kernel(), where);
            assertEquals(grid(e.get("grid_in")), actual.gridIn(), where);
            assertEquals(grid(e.get("grid_out")), actual.gridOut(), where);
            assertEquals(e.get("skipped").asBoolean(), !actual.pooled(), where);
            probabilities.check(e.get("probabilities"), actual.probabilities(), where);
        }
    }
}
