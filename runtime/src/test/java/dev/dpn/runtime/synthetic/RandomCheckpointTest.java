package dev.dpn.runtime.synthetic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.loader.TensorInfo;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.runtime.model.LlavaModel;
import dev.dpn.runtime.model.LlavaSession;
import dev.dpn.runtime.model.PoolingDecision;
import dev.dpn.runtime.model.SessionOptions;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tiny shape written to disk: it loads as a llava-hf folder, runs, and is the same for the same seed. */
class RandomCheckpointTest {
    private static final int BOS = 1, ROUTER = 32002;
    private static final long ONE_SHARD = 5_000_000_000L;
    /** Below the tiny embedding table (32064 × 64 F16 = 4.1 MB): several shards, one holding a single tensor. */
    private static final long SMALL_SHARDS = 3_000_000L;
    private static final RandomCheckpoint TINY = RandomCheckpoint.of(ModelShape.TINY.config(), DType.F16);

    @TempDir
    Path dir;

    @Test
    void theTinyCheckpointRunsWithFiniteLogitsAndInputDependentRoutes() throws IOException {
        write(dir, 7, ONE_SHARD);
        assertEquals(TINY.config(), LlavaConfig.read(dir.resolve("config.json")));

        Set<List<Integer>> routes = new HashSet<>();
        try (LlavaModel model = LlavaModel.load(dir, new CpuBackend(2)); TensorArena arena = new TensorArena()) {
            for (int request = 0; request < 4; request++) {
                int[] ids = {BOS, 3148, 1001, 29901, ModelShape.IMAGE_TOKEN_INDEX, 13, 100 + request * 977,
                        338 + request * 1000, 5000 + request * 3000, ROUTER, 319, 1799, 9047, 13566, 29901};
                try (LlavaSession session = model.newSession(SessionOptions.defaults().withRouterTokenId(ROUTER))) {
                    float[] logits = session.prefill(ids, image(arena, model.config(), request)).toFloatArray();
                    // The LM head is scaled for logits of unit spread over unit-RMS final states; an order of
                    // magnitude either way means a scale went wrong on the way through the layers.
                    double spread = spread(logits);
                    assertTrue(spread > 0.1 && spread < 10, "logit spread " + spread);

                    List<Integer> experts = new ArrayList<>();
                    for (PoolingDecision d : session.trace().decisions()) {
                        if (d.probabilities().length > 0) {
                            // Uniform would be 0; predictor logits two temperatures wide typically give gaps ≥ 0.5.
                            float[] p = d.probabilities();
                            float gap = Math.max(p[0], Math.max(p[1], p[2])) - Math.min(p[0], Math.min(p[1], p[2]));
                            assertTrue(gap > 0.2, "router probabilities close to uniform: " + d);
                        }
                        experts.add(d.expert());
                    }
                    assertTrue(experts.getFirst() >= 0, "the first DPE layer routes the 8x8 grid");
                    routes.add(experts);
                }
            }
        }
        assertTrue(routes.size() > 1, "every input took the same experts: " + routes);
    }

    @Test
    void theSameSeedWritesTheSameBytesAndAnotherSeedOthers() throws IOException {
        List<Path> first = write(dir.resolve("a"), 11, SMALL_SHARDS);
        List<Path> again = write(dir.resolve("b"), 11, SMALL_SHARDS);
        List<Path> other = write(dir.resolve("c"), 12, SMALL_SHARDS);
        assertEquals(names(first), names(again));
        assertEquals(names(first), names(other));
        for (int i = 0; i < first.size(); i++) {
            assertEquals(-1, Files.mismatch(first.get(i), again.get(i)), first.get(i) + " differs");
            boolean weights = first.get(i).toString().endsWith(".safetensors");
            assertEquals(weights, Files.mismatch(first.get(i), other.get(i)) != -1,
                    first.get(i).getFileName() + ": only weights depend on the seed");
        }
    }

    @Test
    void shardsStayUnderTheLimitAndTheIndexDescribesThem() throws IOException {
        List<Path> files = write(dir, 3, SMALL_SHARDS);
        List<Path> shards = files.stream().filter(f -> f.toString().endsWith(".safetensors")).toList();
        assertTrue(shards.size() > 2, "shards: " + shards);
        for (int i = 0; i < shards.size(); i++) {
            assertEquals(String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size()),
                    shards.get(i).getFileName().toString());
            try (SafetensorsCheckpoint shard = SafetensorsCheckpoint.open(shards.get(i))) {
                long bytes = shard.names().stream().mapToLong(n -> shard.info(n).byteSize()).sum();
                assertTrue(bytes <= SMALL_SHARDS || shard.names().size() == 1, shards.get(i) + ": " + bytes);
            }
        }
        assertFalse(Files.exists(dir.resolve("model.safetensors")));

        JsonNode index = new ObjectMapper().readTree(dir.resolve("model.safetensors.index.json").toFile());
        assertEquals(dir.resolve("model.safetensors.index.json"), files.getLast());
        assertEquals(TINY.byteSize(), index.get("metadata").get("total_size").asLong());
        assertEquals(TINY.tensors().size(), index.get("weight_map").size());
        List<String> mapped = new ArrayList<>();
        index.get("weight_map").fieldNames().forEachRemaining(mapped::add);
        assertEquals(mapped.stream().sorted().toList(), mapped, "transformers writes the weight map sorted");

        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir)) {
            assertEquals(TINY.tensors().size(), checkpoint.names().size());
            for (TensorInfo planned : TINY.tensors()) {
                assertEquals(planned, checkpoint.info(planned.name()));
            }
        }
    }

    private static List<Path> write(Path folder, long seed, long shardBytes) throws IOException {
        TINY.writeConfig(folder);
        List<Path> weights = TINY.writeWeights(folder, seed, shardBytes, bytes -> { });
        return Stream.concat(Stream.of(folder.resolve("config.json"), folder.resolve("generation_config.json")),
                weights.stream()).toList();
    }

    private static List<String> names(List<Path> files) {
        return files.stream().map(f -> f.getFileName().toString()).toList();
    }

    /** Distinct inputs: flat images of different brightness, and noisy ones. */
    private static Tensor image(TensorArena arena, LlavaConfig config, int request) {
        int size = config.visionConfig().imageSize();
        Tensor pixels = arena.allocate(DType.F32, 3, size, size);
        Random random = new Random(request);
        for (long i = 0; i < pixels.size(); i++) {
            pixels.setFloat(i, (float) (request * 0.7 - 1 + (request % 2) * random.nextGaussian()));
        }
        return pixels;
    }

    /** The standard deviation, after checking every value is finite. */
    private static double spread(float[] values) {
        double sum = 0, squares = 0;
        for (float v : values) {
            assertTrue(Float.isFinite(v), "a logit is " + v);
            sum += v;
            squares += (double) v * v;
        }
        double mean = sum / values.length;
        return Math.sqrt(squares / values.length - mean * mean);
    }
}
