package dev.dpn.loader.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.loader.ConfigException;
import dev.dpn.loader.config.PoolingConfig.Function;
import dev.dpn.loader.config.PoolingConfig.Location;
import dev.dpn.loader.config.PoolingConfig.RouterVersion;
import dev.dpn.loader.config.PoolingConfig.Type;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LlavaConfigTest {
    /** llava-hf/llava-1.5-7b-hf's config.json, trimmed to the keys that matter, with the DPN section of DPN.md. */
    private static final String LLAVA_7B_DPN = """
            {
              "architectures": ["LlavaForConditionalGeneration"],
              "image_token_index": 32000,
              "model_type": "llava",
              "projector_hidden_act": "gelu",
              "text_config": {
                "max_position_embeddings": 4096,
                "model_type": "llama",
                "rms_norm_eps": 1e-05,
                "torch_dtype": "float16",
                "vocab_size": 32064
              },
              "vision_feature_layer": -2,
              "vision_feature_select_strategy": "default",
              "pooling": {
                "pooling_type": "adaptive",
                "pooling_layers": [
                  {"index": 7,  "kernel_size": [[1,1],[1,2],[2,2]], "stride": [[1,1],[1,2],[2,2]]},
                  {"index": 15, "kernel_size": [[1,1],[1,2],[2,2]], "stride": [[1,1],[1,2],[2,2]]},
                  {"index": 23, "kernel_size": [[1,1],[2,2]]}],
                "pooling_function": "max",
                "pooling_location": "post",
                "router_version": "v1",
                "use_special_token": true,
                "prepooling": false,
                "detach_cls_token_to_predict": false,
                "routing_target": 1.5
              }
            }
            """;

    @TempDir
    Path dir;

    private LlavaConfig read(String json) throws IOException {
        return LlavaConfig.read(Files.writeString(dir.resolve("config.json"), json));
    }

    private String rejection(String json) {
        return assertThrows(ConfigException.class, () -> read(json)).getMessage();
    }

    @Test
    void aTerseLlavaHfConfigTakesTransformersDefaults() throws IOException {
        LlavaConfig config = read(LLAVA_7B_DPN);
        assertEquals(VisionConfig.CLIP_VIT_LARGE_336, config.visionConfig(), "absent vision_config");
        assertEquals(24, config.visionConfig().gridSize());
        assertEquals(23, config.visionLayersUsed(), "vision_feature_layer -2 of 24");
        TextConfig text = config.textConfig();
        assertEquals(new TextConfig(32064, 4096, 11008, 32, 32, 32, 1e-5, 10000.0, 4096, "silu"), text);
        assertEquals(128, text.headDim());
        assertEquals(32000, config.imageTokenIndex());
        assertEquals(LlavaConfig.FeatureSelect.DEFAULT, config.visionFeatureSelectStrategy());
        assertEquals("gelu", config.projectorHiddenAct());
        assertFalse(config.tieWordEmbeddings());
    }

    @Test
    void thePoolingSectionReadsAsDpnMdWritesIt() throws IOException {
        LlavaConfig config = read(LLAVA_7B_DPN);
        PoolingConfig pooling = config.pooling();
        List<Kernel> three = List.of(new Kernel(1, 1), new Kernel(1, 2), new Kernel(2, 2));
        assertEquals(new PoolingConfig(Type.ADAPTIVE, List.of(new DpeLayer(7, three), new DpeLayer(15, three),
                new DpeLayer(23, List.of(new Kernel(1, 1), new Kernel(2, 2)))), Function.MAX, Location.POST,
                RouterVersion.V1, true, false, false), pooling);
        assertEquals(4, pooling.layerAt(15).orElseThrow().largestKernelArea());
        assertTrue(pooling.layerAt(8).isEmpty());
        assertEquals(List.of(dir.resolve("config.json") + ": pooling: unknown key 'routing_target' ignored"),
                config.warnings());
    }

    @Test
    void staticLayersHoldOnePairAndOtherOptionsRead() throws IOException {
        LlavaConfig config = read("""
                {"vision_config": {"hidden_size": 24, "intermediate_size": 48, "num_hidden_layers": 3,
                                   "num_attention_heads": 2, "image_size": 32, "patch_size": 4},
                 "text_config": {"vocab_size": 64, "hidden_size": 32, "intermediate_size": 64,
                                 "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 2,
                                 "tie_word_embeddings": true},
                 "image_token_id": 63, "vision_feature_layer": 1,
                 "pooling": {"pooling_type": "static", "pooling_function": "avg", "pooling_location": "pre",
                             "pooling_layers": [{"index": 1, "kernel_size": [2, 1], "stride": [2, 1]},
                                                {"index": 3, "kernel_size": [2, 2]}]}}
                """);
        assertEquals(new VisionConfig(24, 48, 3, 2, 3, 32, 4, 1e-5, "quick_gelu"), config.visionConfig());
        assertEquals(1, config.visionLayersUsed());
        assertEquals(16, config.textConfig().kvDim());
        assertEquals(1e-6, config.textConfig().rmsNormEps(), "LlamaConfig's default");
        assertEquals(63, config.imageTokenIndex(), "transformers 5.x spelling");
        assertTrue(config.tieWordEmbeddings(), "read from text_config when not at the top");
        assertEquals(new PoolingConfig(Type.STATIC, List.of(new DpeLayer(1, List.of(new Kernel(2, 1))),
                new DpeLayer(3, List.of(new Kernel(2, 2)))), Function.AVG, Location.PRE, RouterVersion.V1, false,
                false, false), config.pooling());
    }

    @Test
    void anAbsentOrNoneSectionIsPlainLlava() throws IOException {
        assertEquals(PoolingConfig.NONE, read("{}").pooling());
        PoolingConfig none = read("""
                {"pooling": {"pooling_type": "none", "pooling_layers": [{"index": 7, "kernel_size": [[2,2]]}]}}
                """).pooling();
        assertEquals(Type.NONE, none.type());
        assertEquals(7, none.layers().getFirst().index(), "layers stay, for a static override");
    }

    @Test
    void overridesKeepTheLayersAndCheckTheirKernels() throws IOException {
        PoolingConfig adaptive = read(LLAVA_7B_DPN).pooling();
        PoolingConfig fixed = adaptive.asStatic(List.of(new Kernel(1, 2), new Kernel(2, 2), new Kernel(1, 1)));
        assertEquals(Type.STATIC, fixed.type());
        assertEquals(List.of(new Kernel(2, 2)), fixed.layerAt(15).orElseThrow().experts());
        assertEquals(new PoolingConfig(Type.STATIC, fixed.layers(), Function.MAX, Location.POST, RouterVersion.V1,
                false, false, false), PoolingConfig.staticPooling(fixed.layers()));
        assertEquals(Type.RANDOM, adaptive.withType(Type.RANDOM).type());
        assertEquals(adaptive.layers(), adaptive.withType(Type.RANDOM).layers());
        assertThrows(IllegalArgumentException.class, () -> adaptive.asStatic(List.of(new Kernel(2, 2))));
        assertThrows(IllegalArgumentException.class, () -> adaptive.withType(Type.STATIC),
                "three experts per layer cannot be static");
        assertThrows(IllegalArgumentException.class, () -> new Kernel(0, 2));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            DPE index out of range | {"pooling": {"pooling_layers": [{"index": 32, "kernel_size": [[1,1]]}]}} \
                | pooling.pooling_layers[0].index must be a layer of the 32-layer decoder (0 to 31), got 32
            negative DPE index     | {"pooling": {"pooling_layers": [{"index": -1, "kernel_size": [[1,1]]}]}} \
                | pooling.pooling_layers[0].index must be a non-negative decoder layer index, got -1
            zero kernel            | {"pooling": {"pooling_layers": [{"index": 1, "kernel_size": [[1,1],[0,2]]}]}} \
                | pooling.pooling_layers[0].kernel_size must be a non-empty list of [kh, kw] pairs
            triple kernel          | {"pooling": {"pooling_layers": [{"index": 1, "kernel_size": [[1,1,1]]}]}} \
                | pooling.pooling_layers[0].kernel_size must be a non-empty list
            pair for adaptive      | {"pooling": {"pooling_layers": [{"index": 1, "kernel_size": [2,2]}]}} \
                | pooling.pooling_layers[0].kernel_size must be a non-empty list of [kh, kw] pairs
            list for static        | {"pooling": {"pooling_type": "static", \
                "pooling_layers": [{"index": 1, "kernel_size": [[2,2]]}]}} \
                | kernel_size must be a single [kh, kw] pair of positive integers for static pooling, got [[2,2]]
            stride not kernel      | {"pooling": {"pooling_layers": \
                [{"index": 1, "kernel_size": [[2,2]], "stride": [[1,1]]}]}} \
                | pooling.pooling_layers[0].stride must be equal to kernel_size [2x2]
            duplicate index        | {"pooling": {"pooling_layers": \
                [{"index": 1, "kernel_size": [[2,2]]}, {"index": 1, "kernel_size": [[2,2]]}]}} \
                | pooling.pooling_layers[1].index must be distinct
            static conv            | {"pooling": {"pooling_type": "static", "pooling_function": "conv"}} \
                | pooling.pooling_function must be max or avg for static pooling
            unknown type           | {"pooling": {"pooling_type": "dynamic"}} \
                | pooling.pooling_type must be one of none, static, adaptive, random, got "dynamic"
            full strategy          | {"vision_feature_select_strategy": "full", "pooling": {}} \
                | vision_feature_select_strategy must be default when pooling
            heads                  | {"text_config": {"hidden_size": 100, "num_attention_heads": 8}} \
                | text_config.hidden_size must be divisible by num_attention_heads (8), got 100
            kv heads               | {"text_config": {"num_key_value_heads": 5}} \
                | text_config.num_key_value_heads must be a divisor of num_attention_heads (32), got 5
            odd head dim           | {"text_config": {"hidden_size": 96, "num_attention_heads": 32}} \
                | text_config.hidden_size must be num_attention_heads (32) times an even head dimension
            vision heads           | {"vision_config": {"hidden_size": 100}} \
                | vision_config.hidden_size must be divisible by num_attention_heads (12), got 100
            patches                | {"vision_config": {"image_size": 100, "patch_size": 14}} \
                | vision_config.image_size must be a multiple of patch_size (14), got 100
            feature layer          | {"vision_feature_layer": -26} \
                | vision_feature_layer must be a hidden state of the 24-layer vision tower (from -25 to 24), got -26
            rope scaling           | {"text_config": {"rope_scaling": {"type": "linear", "factor": 2.0}}} \
                | text_config.rope_scaling must be null (RoPE scaling is not supported)
            zero layers            | {"text_config": {"num_hidden_layers": 0}} \
                | text_config.num_hidden_layers must be a positive integer, got 0
            """)
    void badConfigsAreRejectedNamingFileAndKey(String what, String json, String expected) {
        String message = rejection(json);
        assertTrue(message.startsWith(dir.resolve("config.json") + ": "), message);
        assertTrue(message.contains(expected), message);
    }
}
