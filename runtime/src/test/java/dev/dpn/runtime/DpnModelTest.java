package dev.dpn.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.kernels.cuda.CudaBackend;
import dev.dpn.kernels.cuda.CudaUnavailableException;
import dev.dpn.loader.config.Kernel;
import dev.dpn.runtime.image.ImageFileException;
import dev.dpn.runtime.model.Grid;
import dev.dpn.runtime.model.PoolingDecision;
import dev.dpn.runtime.text.ChatTemplate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The public API around a small random DPN model with the real tokenizer ({@code make_api_model.py}): prompts,
 * images, routing statistics, streaming, limits, concurrency and errors. Its numerics are ModelGoldenTest's job.
 */
class DpnModelTest {
    private static final Path IMAGE = Path.of("src/test/resources/images/gray-64x40.png");
    private static final GenerateOptions OPTIONS = GenerateOptions.defaults().withTemplate(ChatTemplate.SHORT)
            .withMaxTokens(6);

    @TempDir
    static Path folder;
    private static DpnModel model;

    @BeforeAll
    static void load() throws IOException {
        copyModel(folder);
        model = DpnModel.load(folder, 2);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static void copyModel(Path to) throws IOException {
        for (Path from : List.of(Path.of("src/test/resources/api-model"), Path.of("../tokenizer/assets"))) {
            try (var files = Files.list(from)) {
                for (Path f : files.toList()) {
                    Files.copy(f, to.resolve(f.getFileName()));
                }
            }
        }
    }

    @Test
    void answersWithRoutingStatisticsAndStreamsTheSameText() {
        StringBuilder streamed = new StringBuilder();
        Generation g = model.generate(IMAGE, "What is shown?", OPTIONS, streamed::append);
        assertEquals(g.text(), streamed.toString());
        assertTrue(g.tokens().length >= 1 && g.tokens().length <= 6, "tokens " + g.tokens().length);
        RequestStats s = g.stats();

        // DPE layer 0 pools the 4x4 grid; layer 1 finds fewer than 16 tokens and is skipped.
        List<PoolingDecision> routing = s.routing();
        assertEquals(2, routing.size());
        PoolingDecision first = routing.getFirst();
        assertEquals(new Grid(4, 4), first.gridIn());
        assertTrue(first.pooled());
        assertEquals(3, first.probabilities().length);
        assertFalse(routing.get(1).pooled());

        // "USER: <image>\nWhat is shown?<ROUTER> ASSISTANT:" after <s>; the 16 visual tokens replace <image>.
        int prompt = s.promptTokens();
        assertEquals(model.tokenizer().encode("USER: <image>\nWhat is shown?<ROUTER> ASSISTANT:", true).length,
                prompt);
        List<RequestStats.Stage> stages = s.stages();
        assertEquals(new RequestStats.Stage(0, 0, new Grid(4, 4), prompt - 1 + 16), stages.get(0));
        Grid pooled = first.gridOut();
        assertEquals(new RequestStats.Stage(1, 2, pooled, prompt - 1 + pooled.tokens()), stages.get(1));

        var text = model.config().textConfig();
        double expected = PrefillFlops.decoderLayer(text, prompt - 1 + 16)
                + 2 * PrefillFlops.decoderLayer(text, prompt - 1 + pooled.tokens());
        assertEquals(expected, s.llmPrefillFlops(), 1e-6 * expected);
        assertEquals(3 * PrefillFlops.decoderLayer(text, prompt - 1 + 16), s.llmPrefillFlopsUnpooled(), 1);
        assertTrue(s.flopsSaving() > 0);
        assertTrue(s.ttftNanos() >= s.prefillNanos() && s.prefillNanos() >= s.visionNanos());
        assertTrue(s.visionTowerNanos() > 0 && s.projectorNanos() > 0
                && s.visionTowerNanos() + s.projectorNanos() <= s.visionNanos());
        assertEquals(g.tokens().length, s.generatedTokens());

        // Decode step i reads each layer's cache of its stage's tokens + i, keys and values in F16 (the CPU's).
        assertEquals(g.tokens().length - 1, s.decodeSteps());
        long cacheBytes = 0;
        for (int step = 1; step <= s.decodeSteps(); step++) {
            for (RequestStats.Stage stage : stages) {
                cacheBytes += (stage.lastLayer() - stage.firstLayer() + 1) * 2L * (stage.sequenceTokens() + step)
                        * text.kvDim() * 2;
            }
        }
        assertTrue(s.decodeSteps() > 0, "the test needs decode steps");
        assertEquals(cacheBytes, s.decodeCacheBytes());
    }

    @Test
    void poolingCanBeOverriddenPerRequest() {
        Generation none = model.generate(IMAGE, "What is shown?", OPTIONS.withPooling(PoolingSpec.parse("none")));
        assertTrue(none.stats().routing().isEmpty());
        assertEquals(0, none.stats().flopsSaving());

        Generation quarter = model.generate(IMAGE, "What is shown?",
                OPTIONS.withPooling(PoolingSpec.parse("static:2x2,1x1")));
        PoolingDecision first = quarter.stats().routing().getFirst();
        assertEquals(new Kernel(2, 2), first.kernel());
        assertEquals(new Grid(2, 2), first.gridOut());
        assertEquals(0, first.probabilities().length, "static pooling runs no router");

        assertThrows(IllegalArgumentException.class,
                () -> model.generate(IMAGE, "q", OPTIONS.withPooling(PoolingSpec.parse("static:3"))));
    }

    @Test
    void concurrentRequestsGiveTheAnswersTheyWouldGiveAlone() throws Exception {
        List<String> questions = List.of("What is shown?", "Describe the image.", "What color is it?");
        List<int[]> alone = new ArrayList<>();
        for (String q : questions) {
            alone.add(model.generate(IMAGE, q, OPTIONS).tokens());
        }
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<int[]>> together = new ArrayList<>();
            for (int round = 0; round < 2; round++) {
                for (String q : questions) {
                    together.add(pool.submit(() -> model.generate(IMAGE, q, OPTIONS).tokens()));
                }
            }
            for (int i = 0; i < together.size(); i++) {
                assertArrayEquals(alone.get(i % questions.size()), together.get(i).get());
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void aPromptLongerThanTheContextSaysHowLong() {
        String question = "why ".repeat(200);
        var e = assertThrows(IllegalArgumentException.class, () -> model.generate(IMAGE, question, OPTIONS));
        assertTrue(e.getMessage().matches("the prompt is \\d+ tokens long \\(image included\\), but the model's "
                + "context holds 160 \\(max_position_embeddings\\)"), e.getMessage());
    }

    @Test
    void badInputIsNamed(@TempDir Path other) throws IOException {
        var missingImage = assertThrows(ImageFileException.class,
                () -> model.generate(Path.of("no/such.png"), "q", OPTIONS));
        assertTrue(missingImage.getMessage().contains("no/such.png"), missingImage.getMessage());

        var noFolder = assertThrows(IllegalArgumentException.class, () -> DpnModel.load(other.resolve("nope")));
        assertTrue(noFolder.getMessage().startsWith("model folder not found"), noFolder.getMessage());
        var noConfig = assertThrows(IllegalArgumentException.class, () -> DpnModel.load(other));
        assertTrue(noConfig.getMessage().endsWith("it has no config.json"), noConfig.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DpnModel.load(folder, 0));

        Path wrongImageId = other.resolve("model");
        Files.createDirectories(wrongImageId);
        copyModel(wrongImageId);
        Path config = wrongImageId.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"image_token_index\": 32000",
                "\"image_token_index\": 32001"));
        var mismatch = assertThrows(IllegalArgumentException.class, () -> DpnModel.load(wrongImageId, 1));
        assertTrue(mismatch.getMessage().contains("image_token_index 32001, but the tokenizer's <image> is id 32000"),
                mismatch.getMessage());
    }

    @Test
    void autoRunsOnTheGpuIfOneIsUsableElseOnTheCpu() throws IOException {
        assertEquals(Device.CPU, model.device());
        Device usable;
        try (CudaBackend gpu = CudaBackend.open()) {
            usable = Device.CUDA;
        } catch (CudaUnavailableException e) {
            usable = Device.CPU;
        }
        try (DpnModel auto = DpnModel.load(folder, Device.AUTO, 1)) {
            assertEquals(usable, auto.device());
        }
    }

    @Test
    void aClosedModelRefusesWork() throws IOException {
        DpnModel another = DpnModel.load(folder, 1);
        another.close();
        another.close();
        assertThrows(IllegalStateException.class, () -> another.generate(IMAGE, "q", OPTIONS));
    }
}
