package dev.dpn.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class JsonConfigTest {
    private static final String CONFIG = """
            {
              "model_type": "llava",
              "image_token_index": 32000,
              "vision_feature_layer": -2,
              "tie_word_embeddings": false,
              "rope_scaling": null,
              "initializer_range": NaN,
              "text_config": {
                "hidden_size": 4096,
                "rms_norm_eps": 1e-05,
                "rope_theta": 10000,
                "max_tokens": 5000000000,
                "torch_dtype": "float16",
                "bad_size": "abc",
                "zero_size": 0,
                "fraction": 1.5
              },
              "pooling": {
                "pooling_type": "adaptive",
                "use_special_token": true,
                "pooling_layers": [
                  {"index": 7, "kernel_size": [[1, 1], [1, 2], [2, 2]]},
                  {"index": 15, "kernel_size": [[1, 1], [2]], "stride": "2"}
                ]
              }
            }
            """;

    @TempDir
    Path dir;
    private Path file;
    private JsonConfig config;

    @BeforeEach
    void read() throws IOException {
        file = Files.writeString(dir.resolve("config.json"), CONFIG);
        config = JsonConfig.read(file);
    }

    @Test
    void typedAccessorsReadTheirValues() {
        assertEquals("llava", config.getString("model_type"));
        assertEquals(32000, config.getPositiveInt("image_token_index"));
        assertEquals(-2, config.getInt("vision_feature_layer"));
        assertFalse(config.getBoolean("tie_word_embeddings"));
        assertTrue(Double.isNaN(config.getDouble("initializer_range")), "Python's json writes NaN");
        assertEquals(4096, config.getInt("text_config.hidden_size"));
        assertEquals(1e-5, config.getDouble("text_config.rms_norm_eps"));
        assertEquals(10000.0, config.getDouble("text_config.rope_theta"), "integers are numbers too");
        assertEquals(5_000_000_000L, config.getLong("text_config.max_tokens"));
        JsonConfig text = config.section("text_config");
        assertEquals(4096, text.getPositiveInt("hidden_size"));
        assertTrue(config.section("pooling").getBoolean("use_special_token"));
    }

    @Test
    void fallbacksApplyWhenAKeyIsAbsentOrNull() {
        assertEquals(32, config.getPositiveInt("text_config.num_key_value_heads", 32));
        assertEquals(7, config.getInt("vision_config.image_size", 7), "a missing section is a missing key");
        assertEquals(1e4, config.getDouble("rope_theta", 1e4));
        assertEquals(9L, config.getLong("nothing", 9L));
        assertTrue(config.getBoolean("rope_scaling", true), "null means the default");
        assertEquals("float32", config.getString("text_config.dtype", "float32"));
        assertEquals(4096, config.getInt("text_config.hidden_size", 1), "a present key wins");
        assertTrue(config.has("text_config.hidden_size"));
        assertFalse(config.has("rope_scaling"));
        assertFalse(config.has("vision_config.hidden_size"));
    }

    @Test
    void wrongTypesNameTheFileTheKeyAndTheValue() {
        assertFails(() -> config.getPositiveInt("text_config.bad_size"),
                "text_config.bad_size must be a positive integer, got \"abc\"");
        assertFails(() -> config.getPositiveInt("text_config.zero_size", 1),
                "text_config.zero_size must be a positive integer, got 0");
        assertFails(() -> config.section("text_config").getInt("max_tokens"),
                "text_config.max_tokens must be a 32-bit integer, got 5000000000");
        assertFails(() -> config.getInt("text_config.fraction", 0),
                "text_config.fraction must be a 32-bit integer, got 1.5");
        assertFails(() -> config.getLong("text_config.fraction"), "text_config.fraction must be an integer, got 1.5");
        assertFails(() -> config.getDouble("model_type"), "model_type must be a number, got \"llava\"");
        assertFails(() -> config.getBoolean("image_token_index"), "image_token_index must be true or false, got 32000");
        assertFails(() -> config.getString("image_token_index", ""), "image_token_index must be a string, got 32000");
        assertFails(() -> config.getIntArray("text_config.hidden_size"),
                "text_config.hidden_size must be an array of 32-bit integers, got 4096");
        assertFails(() -> config.section("model_type"), "model_type must be an object, got \"llava\"");
        assertFails(() -> config.sections("text_config"),
                "text_config must be an array of objects, got {\"hidden_size\":4096,");
    }

    @Test
    void missingKeysAreNamedInFull() {
        assertFails(() -> config.getInt("text_config.vocab_size"), "text_config.vocab_size is missing");
        assertFails(() -> config.section("text_config").getDouble("vocab_size"), "text_config.vocab_size is missing");
        assertFails(() -> config.getInt("vision_config.hidden_size"), "vision_config.hidden_size is missing");
        assertFails(() -> config.section("vision_config"), "vision_config is missing");
        assertFails(() -> config.getString("rope_scaling"), "rope_scaling is missing");
    }

    @Test
    void aPathThroughAValueThatIsNotAnObjectFails() {
        assertFails(() -> config.getInt("model_type.size"), "model_type must be an object, got \"llava\"");
        assertFails(() -> config.has("text_config.hidden_size.x"),
                "text_config.hidden_size must be an object, got 4096");
    }

    @Test
    void arraysOfSectionsAndOfIntegerArrays() {
        List<JsonConfig> layers = config.sections("pooling.pooling_layers");
        assertEquals(2, layers.size());
        assertEquals(15, layers.get(1).getInt("index"));
        assertArrayEquals(new int[][] {{1, 1}, {1, 2}, {2, 2}}, layers.get(0).getIntArrays("kernel_size"));
        assertArrayEquals(new int[] {1, 2}, layers.get(0).getIntArrays("kernel_size")[1]);
        assertFails(() -> layers.get(1).getIntArray("stride"),
                "pooling.pooling_layers[1].stride must be an array of 32-bit integers, got \"2\"");
        assertArrayEquals(new int[][] {{1, 1}, {2}}, layers.get(1).getIntArrays("kernel_size"));
        assertFails(() -> layers.get(0).getIntArray("kernel_size"),
                "pooling.pooling_layers[0].kernel_size must be an array of 32-bit integers, got [[1,1],[1,2],[2,2]]");
        assertFails(() -> layers.get(1).getIntArrays("index"),
                "pooling.pooling_layers[1].index must be an array of arrays of 32-bit integers, got 15");
    }

    @Test
    void keysInFileOrderForWarningsAboutUnknownOnes() {
        assertEquals(List.of("pooling_type", "use_special_token", "pooling_layers"), config.section("pooling").keys());
    }

    @Test
    void callersFailInTheSameWords() {
        ConfigException e = config.section("pooling").invalid("pooling_type", "one of static, adaptive, random");
        assertEquals(file + ": pooling.pooling_type must be one of static, adaptive, random, got \"adaptive\"",
                e.getMessage());
    }

    @Test
    void rejectsAFileThatIsNotAJsonObject() throws IOException {
        assertReadFails("[1, 2]", "holds [1,2], not a JSON object");
        assertReadFails("", "holds nothing, not a JSON object");
        assertReadFails("{\"a\": 1,}", "malformed JSON: Unexpected character");
        assertReadFails("{\"a\": 1, \"a\": 2}", "malformed JSON: Duplicate field 'a'");
        assertReadFails("{\"a\": 1} {}", "malformed JSON: Trailing token");
    }

    private void assertReadFails(String json, String reason) throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.json"), json);
        var e = assertThrows(ConfigException.class, () -> JsonConfig.read(bad));
        assertTrue(e.getMessage().startsWith(bad + ": " + reason), () -> "\"" + e.getMessage() + "\" does not say "
                + reason);
    }

    private void assertFails(Executable call, String reason) {
        var e = assertThrows(ConfigException.class, call);
        assertTrue(e.getMessage().startsWith(file + ": " + reason), () -> "\"" + e.getMessage() + "\" is not "
                + reason);
    }
}
