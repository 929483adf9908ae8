package dev.dpn.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.kernels.Backend;
import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.loader.ConfigException;
import dev.dpn.loader.SafetensorsFile;
import dev.dpn.loader.SafetensorsWriter;
import dev.dpn.loader.TensorInfo;
import dev.dpn.loader.config.DpeLayer;
import dev.dpn.loader.config.Kernel;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad checkpoints, configs, options and prompts: each is refused with a message naming what is wrong. */
class ModelRejectionTest {
    private static final Backend BACKEND = new ScalarBackend();
    private static final int IMAGE = 63, ROUTER = 62;
    private static final int[] PROMPT = {1, 5, IMAGE, 7, ROUTER, 10};

    @TempDir
    Path dir;

    @Test
    void aMissingTensorIsNamed() throws Exception {
        Path folder = copyOf("adaptive_1_2_4");
        rewriteWeights(folder, info -> info.name().equals("language_model.model.layers.1.mlp.up_proj.weight")
                ? null : info);
        assertEquals(folder + ": language_model.model.layers.1.mlp.up_proj.weight is missing (config.json implies "
                + "[32, 32])", loadFailure(folder));
    }

    @Test
    void aMissingTensorIsNamedInTheFilesLayout() throws Exception {
        Path folder = copyOf("hf5_layout");
        rewriteWeights(folder, info -> info.name().equals("model.language_model.norm.weight") ? null : info);
        assertEquals(folder + ": model.language_model.norm.weight is missing (config.json implies [32])",
                loadFailure(folder));
    }

    @Test
    void aMisShapedTensorIsNamedWithBothShapes() throws Exception {
        Path folder = copyOf("adaptive_1_2_4");
        rewriteWeights(folder, info -> info.name().equals("multi_modal_projector.linear_1.weight")
                ? new TensorInfo(info.name(), info.dtype(), 32, 24) : info);
        assertEquals(folder + ": multi_modal_projector.linear_1.weight has shape [32, 24], config says [32, 16]",
                loadFailure(folder));
    }

    @Test
    void quantizedEmbeddingsAreRefused() throws Exception {
        String embeddings = "language_model.model.embed_tokens.weight";
        Path folder = copyOf("adaptive_1_2_4");
        rewriteWeights(folder, info -> info.name().equals(embeddings) ? new TensorInfo(embeddings, DType.Q8_0,
                info.shape()) : info);
        assertEquals(folder + ": " + embeddings + " is Q8_0; embeddings and convolutions must be F32, F16 or BF16",
                loadFailure(folder));
    }

    @Test
    void quantizedRowsMustBeWholeBlocks() throws Exception {
        // The projector's first layer reads 16 vision features: not a whole 32-weight block per row.
        String projector = "multi_modal_projector.linear_1.weight";
        Path narrow = copyOf("adaptive_1_2_4");
        rewriteWeights(narrow, info -> info.name().equals(projector) ? new TensorInfo(projector, DType.Q4_0,
                info.shape()) : info);
        assertEquals(narrow + ": " + projector + " is Q4_0 with rows of 16; quantized weights need rows in whole "
                + "blocks of 32", loadFailure(narrow));
    }

    @Test
    void aMissingRouterIsNamed() throws Exception {
        Path folder = copyOf("adaptive_1_2_4");
        rewriteWeights(folder, info -> info.name().contains("layers.2.pooling_router.predictor") ? null : info);
        assertTrue(loadFailure(folder).startsWith(
                folder + ": language_model.model.layers.2.pooling_router.predictor.weight is missing"));
    }

    @Test
    void aConfigWithFewerLayersThanTheWeightsIsRefused() throws Exception {
        Path folder = copyOf("adaptive_1_2_4");
        editConfig(folder, "\"num_hidden_layers\": 4", "\"num_hidden_layers\": 3");
        String message = loadFailure(folder);
        assertTrue(message.startsWith(folder + ": 9 tensor(s) that config.json does not describe, e.g. "
                + "[language_model.model.layers.3."), message);
    }

    @Test
    void aConfigWiderThanTheWeightsIsRefused() throws Exception {
        Path folder = copyOf("adaptive_1_2_4");
        editConfig(folder, "\"intermediate_size\": 32,\n    \"num_hidden_layers\": 4",
                "\"intermediate_size\": 48,\n    \"num_hidden_layers\": 4");
        assertEquals(folder + ": language_model.model.layers.0.mlp.gate_proj.weight has shape [32, 32], config says "
                + "[48, 32]", loadFailure(folder));
    }

    @Test
    void aDpeLayerOutsideTheDecoderIsRefusedByTheConfig() throws Exception {
        Path folder = copyOf("adaptive_1_2_4");
        editConfig(folder, "\"index\": 2", "\"index\": 7");
        ConfigException e = assertThrows(ConfigException.class, () -> LlavaModel.load(folder, BACKEND));
        assertEquals(folder.resolve("config.json") + ": pooling.pooling_layers[1].index must be a layer of the "
                + "4-layer decoder (0 to 3), got 7", e.getMessage());
    }

    @Test
    void anUnsupportedActivationIsNamed() throws Exception {
        Path folder = copyOf("adaptive_1_2_4");
        editConfig(folder, "\"projector_hidden_act\": \"gelu\"", "\"projector_hidden_act\": \"mish\"");
        assertEquals(folder.resolve("config.json") + ": projector_hidden_act: unsupported activation 'mish'",
                loadFailure(folder));
    }

    @Test
    void overridesNeedTheirWeightsAndLayers() throws Exception {
        try (LlavaModel plain = LlavaModel.load(golden("static_on_plain"), BACKEND)) {
            PoolingConfig adaptive = PoolingConfig.staticPooling(List.of(new DpeLayer(1, List.of(new Kernel(2, 2)))))
                    .withType(PoolingConfig.Type.ADAPTIVE);
            var noRouter = assertThrows(IllegalArgumentException.class,
                    () -> plain.newSession(SessionOptions.defaults().withPooling(adaptive)));
            assertEquals("adaptive pooling at decoder layer 1 needs a trained router for its 1 experts; the model has "
                    + "none there (static or random pooling need none)", noRouter.getMessage());
            PoolingConfig deep = PoolingConfig.staticPooling(List.of(new DpeLayer(9, List.of(new Kernel(2, 2)))));
            var outside = assertThrows(IllegalArgumentException.class,
                    () -> plain.newSession(SessionOptions.defaults().withPooling(deep)));
            assertEquals("pooling at decoder layer 9, but the decoder has 4 layers", outside.getMessage());
        }
    }

    /** The reference backend keeps F32 caches only; asking it for F16 ones is refused before any work. */
    @Test
    void aKvCacheTypeTheBackendDoesNotKeepIsRefused() throws Exception {
        try (LlavaModel plain = LlavaModel.load(golden("static_on_plain"), BACKEND)) {
            var f16 = assertThrows(IllegalArgumentException.class,
                    () -> plain.newSession(SessionOptions.defaults().withKvCacheType(DType.F16)));
            assertEquals("the scalar backend keeps F32 key/value caches, not F16", f16.getMessage());
            var q8 = assertThrows(IllegalArgumentException.class,
                    () -> SessionOptions.defaults().withKvCacheType(DType.Q8_0));
            assertEquals("the KV cache type must be F32 or F16, got Q8_0", q8.getMessage());
        }
    }

    @Test
    void promptsThatDoNotFitAreRefused() throws Exception {
        try (LlavaModel model = LlavaModel.load(golden("adaptive_1_2_4"), BACKEND);
             TensorArena arena = new TensorArena()) {
            Tensor pixels = arena.allocate(DType.F32, 3, 32, 32);
            SessionOptions options = SessionOptions.defaults().withRouterTokenId(ROUTER).withMaxNewTokens(1);
            assertPrefillFails(model, options, new int[] {1, IMAGE, 5, IMAGE, ROUTER}, pixels,
                    "the prompt has image placeholders (id 63) at 1 and 3; one image per prompt");
            assertPrefillFails(model, options, new int[] {1, 5, ROUTER}, pixels,
                    "an image was given, but the prompt has no image placeholder (id 63)");
            assertPrefillFails(model, options, PROMPT, null,
                    "the prompt has an image placeholder at 2, but no image was given");
            assertPrefillFails(model, options, new int[] {1, IMAGE, 64, ROUTER}, pixels,
                    "prompt token 2 has id 64, outside the vocabulary of 64");
            assertPrefillFails(model, options, new int[] {1, IMAGE, 5, 6}, pixels, "DPE layer 0 needs a router "
                    + "input, but the prompt has no <ROUTER> token (the pooling config sets use_special_token)");
            assertPrefillFails(model, SessionOptions.defaults(), PROMPT, pixels, "the pooling config sets "
                    + "use_special_token, but the session options give no router token id (<ROUTER>)");
            assertPrefillFails(model, options, PROMPT, arena.allocate(DType.F32, 3, 32, 30),
                    "pixels must be F32 [3, 32, 32], got Tensor[F32 [3, 32, 30]]");
        }
    }

    @Test
    void sessionsRunOnePrefillThenAsManyStepsAsTheyHaveRoomFor() throws Exception {
        try (LlavaModel model = LlavaModel.load(golden("adaptive_1_2_4"), BACKEND);
             TensorArena arena = new TensorArena();
             LlavaSession session = model.newSession(SessionOptions.defaults().withRouterTokenId(ROUTER)
                     .withMaxNewTokens(1))) {
            assertEquals("decode needs a prefill first",
                    assertThrows(IllegalStateException.class, () -> session.decode(3)).getMessage());
            Tensor pixels = arena.allocate(DType.F32, 3, 32, 32);
            session.prefill(PROMPT, pixels);
            assertThrows(IllegalStateException.class, () -> session.prefill(PROMPT, pixels));
            assertEquals("token id 64 outside the vocabulary of 64",
                    assertThrows(IllegalArgumentException.class, () -> session.decode(64)).getMessage());
            session.decode(3);
            String full = assertThrows(IllegalStateException.class, () -> session.decode(3)).getMessage();
            assertTrue(full.startsWith("decoder layer 0: the KV cache holds"), full);
        }
    }

    private static void assertPrefillFails(LlavaModel model, SessionOptions options, int[] ids, Tensor pixels,
            String message) {
        try (LlavaSession session = model.newSession(options)) {
            assertEquals(message, assertThrows(IllegalArgumentException.class,
                    () -> session.prefill(ids, pixels)).getMessage());
        }
    }

    private static String loadFailure(Path folder) {
        return assertThrows(ModelLoadException.class, () -> LlavaModel.load(folder, BACKEND)).getMessage();
    }

    private static Path golden(String name) throws URISyntaxException {
        return Path.of(ModelRejectionTest.class.getResource("/goldens/" + name).toURI());
    }

    private Path copyOf(String name) throws IOException, URISyntaxException {
        Path folder = Files.createDirectory(dir.resolve(name));
        for (String file : List.of("config.json", "model.safetensors")) {
            Files.copy(golden(name).resolve(file), folder.resolve(file));
        }
        return folder;
    }

    private static void editConfig(Path folder, String from, String to) throws IOException {
        Path config = folder.resolve("config.json");
        String text = Files.readString(config);
        assertTrue(text.contains(from), "config.json has no " + from);
        Files.writeString(config, text.replaceFirst(Pattern.quote(from), to));
    }

    /**
     * Rewrites model.safetensors: {@code change} maps each tensor to itself, to null (dropped) or to another
     * shape (written as zeros).
     */
    private static void rewriteWeights(Path folder, Function<TensorInfo, TensorInfo> change) throws IOException {
        Path file = folder.resolve("model.safetensors");
        Path rewritten = folder.resolve("rewritten.safetensors");
        try (SafetensorsFile original = SafetensorsFile.open(file); Arena arena = Arena.ofConfined()) {
            List<TensorInfo> infos = new ArrayList<>();
            for (String name : original.names()) {
                TensorInfo info = change.apply(original.info(name));
                if (info != null) {
                    infos.add(info);
                }
            }
            try (SafetensorsWriter writer = SafetensorsWriter.create(rewritten, infos, Map.of())) {
                for (TensorInfo info : infos) {
                    MemorySegment bytes = info.equals(original.info(info.name()))
                            ? original.tensor(info.name()).data() : arena.allocate(info.byteSize());
                    writer.write(info.name(), bytes);
                }
            }
        }
        Files.move(rewritten, file, StandardCopyOption.REPLACE_EXISTING);
    }
}
