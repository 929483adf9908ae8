package dev.dpn.runtime.model;

import static dev.dpn.runtime.model.GoldenFacts.argmax;
import static dev.dpn.runtime.model.GoldenFacts.assertLayersAndDecisions;
import static dev.dpn.runtime.model.GoldenFacts.grid;
import static dev.dpn.runtime.model.GoldenFacts.ints;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dpn.kernels.Backend;
import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.loader.SafetensorsFile;
import dev.dpn.loader.config.DpeLayer;
import dev.dpn.loader.config.Kernel;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.tensors.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The model against the torch reference, on the small random models that runtime/src/test/python/
 * make_model_goldens.py wrote: every intermediate the reference recorded, the pooling decisions, and eight greedy
 * tokens through the KV caches. The tolerances come with each case (see the generator): F32 rounding only.
 */
class ModelGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<String> cases() throws IOException, URISyntaxException {
        try (Stream<Path> folders = Files.list(goldens())) {
            return folders.map(folder -> folder.getFileName().toString()).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theModelMatchesTheReference(String name) throws IOException, URISyntaxException {
        Path folder = goldens().resolve(name);
        Backend backend = new ScalarBackend();
        try (SafetensorsFile golden = SafetensorsFile.open(folder.resolve("goldens.safetensors"));
             LlavaModel model = LlavaModel.load(folder, backend)) {
            JsonNode facts = JSON.readTree(golden.metadata().get("golden"));
            JsonNode tolerance = facts.get("tolerances");
            List<Integer> generated = ints(facts.get("generated"));
            SessionOptions options = SessionOptions.defaults()
                    .withRouterTokenId(facts.get("router_token_id").asInt())
                    .withMaxNewTokens(generated.size());
            options = withOverride(options, facts.get("pooling_override"), model);

            PrefillRecorder recorder = new PrefillRecorder(backend);
            try (LlavaSession session = model.newSession(options)) {
                Tensor pixels = golden.contains("pixel_values") ? golden.tensor("pixel_values") : null;
                Tensor logits = session.prefill(toArray(ints(facts.get("input_ids"))), pixels, recorder);

                Errors errors = new Errors(name);
                if (pixels != null) {
                    errors.check("vision_features", golden.tensor("vision_features"), recorder.visionFeatures,
                            tolerance.get("vision_features").asDouble());
                    errors.check("visual_tokens", golden.tensor("visual_tokens"), recorder.visualTokens,
                            tolerance.get("visual_tokens").asDouble());
                }
                for (JsonNode layer : facts.get("hidden_layers")) {
                    errors.check("hidden_after_layer." + layer.asInt(),
                            golden.tensor("hidden_after_layer." + layer.asInt()),
                            recorder.hiddenAfter.get(layer.asInt()), tolerance.get("hidden").asDouble());
                }
                errors.check("prefill_logits", golden.tensor("prefill_logits"), logits.toFloatArray(),
                        tolerance.get("logits").asDouble());
                checkTrace(name, facts, session.trace(), tolerance.get("probabilities").asDouble());

                Tensor decodeLogits = golden.tensor("decode_logits");
                List<Integer> tokens = new ArrayList<>();
                for (int step = 0; step < generated.size(); step++) {
                    tokens.add(argmax(logits.toFloatArray()));
                    if (step + 1 < generated.size()) {
                        logits = session.decode(tokens.getLast());
                        errors.check("decode_logits[" + step + "]", decodeLogits.row(step), logits.toFloatArray(),
                                tolerance.get("logits").asDouble());
                    }
                }
                assertEquals(generated, tokens, name + ": greedy tokens");
                System.out.println(errors);
            }
        }
    }

    /** The request-time pooling the case asks for, built as the CLI would. */
    private static SessionOptions withOverride(SessionOptions options, JsonNode override, LlavaModel model) {
        if (override.isNull()) {
            return options;
        }
        PoolingConfig configured = model.config().pooling();
        return switch (override.get("type").asText()) {
            case "none" -> options.withPooling(configured.withType(PoolingConfig.Type.NONE));
            case "random" -> options.withPooling(configured.withType(PoolingConfig.Type.RANDOM))
                    .withRandomSeed(override.get("seed").asLong());
            case "static" -> {
                List<DpeLayer> layers = new ArrayList<>();
                for (JsonNode layer : override.get("layers")) {
                    layers.add(new DpeLayer(layer.get(0).asInt(),
                            List.of(new Kernel(layer.get(1).asInt(), layer.get(2).asInt()))));
                }
                yield options.withPooling(PoolingConfig.staticPooling(layers));
            }
            default -> throw new IllegalArgumentException("unknown override " + override);
        };
    }

    private static void checkTrace(String name, JsonNode facts, PrefillTrace trace, double tolerance) {
        assertEquals(facts.get("input_ids").size(), trace.promptTokens(), name + ": prompt tokens");
        assertEquals(grid(facts.get("input_grid")), trace.visualGrid(), name + ": visual grid");
        assertLayersAndDecisions(name, facts, trace, (probabilities, p, where) -> {
            assertEquals(probabilities.isNull() ? 0 : probabilities.size(), p.length, where);
            for (int j = 0; j < p.length; j++) {
                assertEquals(probabilities.get(j).asDouble(), p[j], tolerance, where);
            }
        });
    }

    /** Compares items and keeps the largest error of each, for the report line. */
    private static final class Errors {
        private final String name;
        private final Map<String, Double> largest = new LinkedHashMap<>();

        Errors(String name) {
            this.name = name;
        }

        void check(String item, Tensor expected, float[] actual, double tolerance) {
            float[] e = expected.toFloatArray();
            assertTrue(actual != null, name + ": " + item + " was not computed");
            assertEquals(e.length, actual.length, name + ": " + item + " size");
            double max = 0;
            for (int i = 0; i < e.length; i++) {
                max = Math.max(max, Math.abs(e[i] - actual[i]));
            }
            String group = item.replaceAll("[.\\[].*", "");
            largest.merge(group, max, Math::max);
            assertTrue(max <= tolerance, name + ": " + item + " differs by " + max + " > " + tolerance);
        }

        @Override
        public String toString() {
            StringBuilder line = new StringBuilder(name + ": max |error|");
            largest.forEach((item, max) -> line.append(String.format(" %s %.1e", item, max)));
            return line.toString();
        }
    }

    private static Path goldens() throws URISyntaxException {
        return Path.of(ModelGoldenTest.class.getResource("/goldens").toURI());
    }

    private static int[] toArray(List<Integer> values) {
        return values.stream().mapToInt(Integer::intValue).toArray();
    }

}
