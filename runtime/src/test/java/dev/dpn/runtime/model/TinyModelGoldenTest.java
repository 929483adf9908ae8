package dev.dpn.runtime.model;

import static dev.dpn.runtime.model.GoldenFacts.argmax;
import static dev.dpn.runtime.model.GoldenFacts.assertLayersAndDecisions;
import static dev.dpn.runtime.model.GoldenFacts.grid;
import static dev.dpn.runtime.model.GoldenFacts.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.loader.SafetensorsFile;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.GenerateOptions;
import dev.dpn.runtime.Generation;
import dev.dpn.runtime.PoolingSpec;
import dev.dpn.runtime.image.ClipImageProcessor;
import dev.dpn.runtime.image.ResizeMode;
import dev.dpn.runtime.text.ChatTemplate;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The repository's tiny DPN-LLaVA (models/tiny-dpn-llava, F16 weights) against the torch reference, on the eval
 * questions for which runtime/src/test/python/make_tiny_model_goldens.py recorded the whole request: prompt ids,
 * pixels, samples of every intermediate, the routing, the logits, the greedy tokens through the KV caches and the
 * answer's text; with the model's adaptive pooling and with pooling none.
 *
 * <p>Tolerances (in the goldens, see the generator) bound the largest error of a compared tensor relative to its
 * largest reference value: both sides compute in F32 from the same weights, so only accumulation order differs.
 * Tokens, routing decisions and text must be identical; the generator keeps only decisions whose margin exceeds
 * what the tolerances allow.
 *
 * <p>The package is the model's, for the prefill's intermediates ({@link PrefillObserver}).
 */
class TinyModelGoldenTest {
    private static final Path ROOT = Path.of("..");
    private static final Path MODEL = ROOT.resolve("models/tiny-dpn-llava");

    private static SafetensorsFile golden;
    private static JsonNode facts;
    private static JsonNode tolerances;
    private static CpuBackend backend;
    private static LlavaModel model;
    private static DpnModel api;

    @BeforeAll
    static void load() throws IOException, URISyntaxException {
        assertTrue(Files.isRegularFile(MODEL.resolve("model.safetensors")), MODEL.toAbsolutePath().normalize()
                + " is missing: the tiny model belongs in models/tiny-dpn-llava of the repository");
        golden = SafetensorsFile.open(Path.of(TinyModelGoldenTest.class.getResource("/tiny-goldens/goldens.safetensors")
                .toURI()));
        facts = new ObjectMapper().readTree(golden.metadata().get("golden"));
        tolerances = facts.get("tolerances");
        assertEquals(facts.get("model_sha256").asText(), sha256(MODEL.resolve("model.safetensors")),
                "goldens were made for another model: rerun make_tiny_model_goldens.py");
        backend = new CpuBackend(2);
        model = LlavaModel.load(MODEL, backend);
        api = DpnModel.load(MODEL, 2);
    }

    @AfterAll
    static void close() {
        for (AutoCloseable resource : new AutoCloseable[] {api, model, backend, golden}) {
            try {
                if (resource != null) {
                    resource.close();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    static IntStream items() {
        return IntStream.range(0, facts.get("items").size());
    }

    @ParameterizedTest(name = "item {0}")
    @MethodSource("items")
    void adaptivePoolingMatchesTheReference(int index) {
        JsonNode item = facts.get("items").get(index);
        JsonNode run = item.get("adaptive");
        Errors errors = new Errors("item" + index + ".adaptive");
        SessionOptions options = SessionOptions.defaults().withRouterTokenId(facts.get("router_token_id").asInt())
                .withMaxNewTokens(run.get("generated").size()).withKvCacheType(DType.F32);
        try (TensorArena arena = new TensorArena(); LlavaSession session = model.newSession(options)) {
            Tensor pixels = pixels(item, arena);
            assertEquals(item.get("pixels_sha256").asText(), sha256(pixels), errors.name + ": pixels");
            PrefillRecorder recorder = new PrefillRecorder(backend);
            Tensor logits = session.prefill(promptIds(item), pixels, recorder);

            int d = model.config().textConfig().hiddenSize();
            errors.check("vision_features", recorder.visionFeatures, model.config().visionConfig().hiddenSize(),
                    tolerances.get("vision_features").asDouble());
            errors.check("visual_tokens", recorder.visualTokens, d, tolerances.get("visual_tokens").asDouble());
            for (JsonNode layer : run.get("hidden_layers")) {
                errors.check("hidden_after_layer." + layer.asInt(), recorder.hiddenAfter.get(layer.asInt()), d,
                        tolerances.get("hidden").asDouble());
            }
            checkTrace(run, session.trace(), errors);
            assertEquals(ints(run.get("generated")), greedy(session, logits, errors, run.get("generated").size(),
                    tolerances.get("logits").asDouble()), errors.name + ": greedy tokens");
        }
        System.out.println(errors);
    }

    @ParameterizedTest(name = "item {0}")
    @MethodSource("items")
    void noPoolingMatchesTheReference(int index) {
        noPooling(index, DType.F32, tolerances.get("logits").asDouble());
    }

    /**
     * The CPU's default F16 KV cache against the reference's F32 one: keys and values round to 11 significant bits
     * (at most 2^-11 relative), which moved the logits by up to 9.4e-4 of their scale in these greedy runs (an F32
     * cache: under 2e-5). 4e-3 leaves a factor of four; the greedy tokens must still agree exactly.
     */
    @ParameterizedTest(name = "item {0}")
    @MethodSource("items")
    void halfKvCacheStaysCloseToTheReference(int index) {
        noPooling(index, DType.F16, 4e-3);
    }

    private static void noPooling(int index, DType kvCache, double logitsTolerance) {
        JsonNode item = facts.get("items").get(index);
        JsonNode run = item.get("none");
        Errors errors = new Errors("item" + index + ".none");
        SessionOptions options = SessionOptions.defaults().withPooling(PoolingConfig.NONE)
                .withMaxNewTokens(run.get("generated").size()).withKvCacheType(kvCache);
        try (TensorArena arena = new TensorArena(); LlavaSession session = model.newSession(options)) {
            Tensor logits = session.prefill(promptIds(item), pixels(item, arena));
            assertEquals(ints(run.get("layer_tokens")), session.trace().layerTokens(), errors.name + ": tokens");
            assertEquals(ints(run.get("generated")), greedy(session, logits, errors, run.get("generated").size(),
                    logitsTolerance), errors.name + " " + kvCache + " cache: greedy tokens");
        }
        System.out.println(errors);
    }

    /** The public API end to end: image file and question in, the reference's answer out. */
    @ParameterizedTest(name = "item {0}")
    @MethodSource("items")
    void generateAnswersAsTheReference(int index) {
        JsonNode item = facts.get("items").get(index);
        Path image = ROOT.resolve(item.get("image").asText());
        String question = item.get("question").asText();
        for (String pooling : List.of("adaptive", "none")) {
            JsonNode run = item.get(pooling);
            String where = "item" + index + "." + pooling;
            List<Integer> answer = ints(run.get("answer_tokens"));
            Generation generation = api.generate(image, question, GenerateOptions.defaults()
                    .withTemplate(ChatTemplate.SHORT).withPooling(PoolingSpec.parse(pooling))
                    .withMaxTokens(answer.size()));
            assertEquals(answer, IntStream.of(generation.tokens()).boxed().toList(), where + ": tokens");
            assertEquals(run.get("text").asText(), generation.text(), where + ": text");
            List<Integer> experts = new ArrayList<>();
            run.get("decisions").forEach(d -> experts.add(d.get("expert").isNull() ? -1 : d.get("expert").asInt()));
            assertEquals(experts, generation.stats().routing().stream().map(PoolingDecision::expert).toList(),
                    where + ": experts");
        }
    }

    /** Greedy tokens from the prefill's logits, comparing each decode step's logits with the reference's. */
    private static List<Integer> greedy(LlavaSession session, Tensor logits, Errors errors, int count,
                                        double tolerance) {
        errors.check("prefill_logits", logits.toFloatArray(), 1, tolerance);
        List<Integer> tokens = new ArrayList<>();
        for (int step = 0; step < count; step++) {
            tokens.add(argmax(logits.toFloatArray()));
            if (step + 1 < count) {
                logits = session.decode(tokens.getLast());
                errors.check("decode_logits." + step, logits.toFloatArray(), 1, tolerance);
            }
        }
        return tokens;
    }

    private static void checkTrace(JsonNode run, PrefillTrace trace, Errors errors) {
        assertLayersAndDecisions(errors.name, run, trace, errors::checkProbabilities);
    }

    /** The prompt as the API builds it, which must be the reference's ids. */
    private static int[] promptIds(JsonNode item) {
        int[] ids = api.tokenizer().encode(ChatTemplate.SHORT.prompt(item.get("question").asText(), true), true);
        assertArrayEquals(ints(item.get("input_ids")).stream().mapToInt(Integer::intValue).toArray(), ids,
                "prompt ids of " + item.get("question"));
        return ids;
    }

    private static Tensor pixels(JsonNode item, TensorArena arena) {
        return new ClipImageProcessor(model.config().visionConfig().imageSize(), ResizeMode.PAD)
                .preprocess(ROOT.resolve(item.get("image").asText()), arena);
    }

    /**
     * Compares computed tensors with the sampled goldens of one run ({@code <run>.<item>} holds rows {@code .rows}
     * of the tensor) and keeps the largest relative error of each item, for the report line.
     */
    private static final class Errors {
        final String name;
        private final Map<String, Double> largest = new LinkedHashMap<>();

        Errors(String name) {
            this.name = name;
        }

        /** {@code actual} holds rows of {@code width} values: a [N, width] tensor flattened (logits: width 1). */
        void check(String item, float[] actual, int width, double tolerance) {
            assertTrue(actual != null, name + ": " + item + " was not computed");
            float[] expected = golden.tensor(name + "." + item).toFloatArray();
            int[] rows = golden.tensor(name + "." + item + ".rows").data().toArray(DType.INT);
            assertEquals(expected.length, rows.length * width, name + ": " + item + " golden shape");
            double scale = 0;
            double error = 0;
            for (int r = 0; r < rows.length; r++) {
                int row = rows[r];
                assertTrue((row + 1) * width <= actual.length, name + ": " + item + " has no row " + row);
                for (int j = 0; j < width; j++) {
                    float e = expected[r * width + j];
                    scale = Math.max(scale, Math.abs(e));
                    error = Math.max(error, Math.abs(e - actual[row * width + j]));
                }
            }
            double relative = error / scale;
            largest.merge(item.replaceAll("\\.\\d+$", ""), relative, Math::max);
            assertTrue(relative <= tolerance, name + ": " + item + " differs by " + error + " at scale " + scale
                    + ": relative " + relative + " > " + tolerance);
        }

        /** Router probabilities, compared absolutely: they lie in [0, 1]. */
        void checkProbabilities(JsonNode expected, float[] actual, String where) {
            assertEquals(expected.isNull() ? 0 : expected.size(), actual.length, where);
            double error = 0;
            for (int j = 0; j < actual.length; j++) {
                error = Math.max(error, Math.abs(expected.get(j).asDouble() - actual[j]));
            }
            largest.merge("probabilities", error, Math::max);
            double tolerance = tolerances.get("probabilities").asDouble();
            assertTrue(error <= tolerance, where + ": probabilities differ by " + error + " > " + tolerance);
        }

        @Override
        public String toString() {
            StringBuilder line = new StringBuilder(name + ": max error (relative to scale; probabilities absolute)");
            largest.forEach((item, max) -> line.append(String.format(" %s %.1e", item, max)));
            return line.toString();
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest digest = sha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] block = new byte[1 << 20];
            for (int n; (n = in.read(block)) > 0; ) {
                digest.update(block, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The tensor's bytes (little-endian F32, as numpy's) hashed. */
    private static String sha256(Tensor tensor) {
        assertEquals(DType.F32, tensor.dtype());
        return HexFormat.of().formatHex(sha256().digest(tensor.data().toArray(ValueLayout.JAVA_BYTE)));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            return fail(e);
        }
    }

}
