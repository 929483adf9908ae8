package dev.dpn.runtime.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.GenerateOptions;
import dev.dpn.runtime.PoolingSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Java runtime reproduces the reference's evaluation (train/evaluate.py, results.json) of the embedded models on
 * the whole held-out split: the same greedy answers make the same accuracy. The issue asks for 1 point; the
 * deterministic setups are expected to match exactly, random pooling only in distribution (the engines draw with
 * different generators).
 */
class EmbeddedModelEvalTest {
    private static final Path ROOT = Path.of("..");

    @Test
    void tinyDpnLlavaAdaptiveMatchesTheReference() throws IOException {
        check("tiny-dpn-llava", "tiny-dpn-llava, adaptive", null);
    }

    @Test
    void tinyLlavaWithStaticPoolingMatchesTheReference() throws IOException {
        check("tiny-llava", "tiny-llava, static ×4 (2,2)", "static:2x2");
    }

    private static void check(String model, String setup, String pooling) throws IOException {
        JsonNode reference = referenceRow(setup);
        List<EvalExample> examples = EvalExample.readSplit(ROOT.resolve("world/eval"));
        try (DpnModel dpn = DpnModel.load(ROOT.resolve("models").resolve(model), 2)) {
            GenerateOptions options = GenerateOptions.defaults().withTemplate(dpn.defaultTemplate());
            if (pooling != null) {
                options = options.withPooling(PoolingSpec.parse(pooling));
            }
            EvalResult result = Evaluation.run(dpn, examples, options, 24, done -> { });
            double overall = 100 * result.overall().accuracy();
            double want = 100 * reference.get("accuracy").asDouble();
            assertTrue(Math.abs(overall - want) <= 1, setup + ": " + overall + "% here, " + want + "% in torch");
            for (Map.Entry<String, Tally> type : result.byType().entrySet()) {
                assertEquals(reference.at("/accuracy_by_qtype/" + type.getKey()).asDouble(),
                        type.getValue().accuracy(), 0.02, setup + ", " + type.getKey());
            }
            assertEquals(reference.get("llm_prefill_saving").asDouble(), result.flopsSaving(), 0.01, setup);
        }
    }

    private static JsonNode referenceRow(String setup) throws IOException {
        for (JsonNode row : new ObjectMapper().readTree(ROOT.resolve("train/results/results.json").toFile())) {
            if (row.get("setup").asText().equals(setup)) {
                return row;
            }
        }
        throw new AssertionError("no row '" + setup + "' in train/results/results.json");
    }
}
