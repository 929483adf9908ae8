package dev.dpn.loader;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A read-only view of a JSON configuration file such as a model's {@code config.json}, or of one object inside it,
 * with typed accessors; the runtime builds its model records on top.
 *
 * <p>Keys are object keys joined by dots, relative to this view: {@code "text_config.hidden_size"}. A key that is
 * absent or JSON {@code null} is missing (transformers writes null to mean "the default"): the accessors with a
 * fallback return it, the others fail. A value of the wrong type fails either way. Failures are
 * {@link ConfigException}s naming the file and the full key path, as in
 * {@code config.json: text_config.hidden_size must be a positive integer, got "abc"}.
 */
public final class JsonConfig {
    private static final Type<Integer> INT = new Type<>("a 32-bit integer", JsonConfig::toInt);
    private static final Type<Integer> POSITIVE_INT = new Type<>("a positive integer", v -> {
        Integer i = toInt(v);
        return i != null && i > 0 ? i : null;
    });
    private static final Type<Long> LONG = new Type<>("an integer",
            v -> v.isIntegralNumber() && v.canConvertToLong() ? v.longValue() : null);
    private static final Type<Double> DOUBLE = new Type<>("a number", v -> v.isNumber() ? v.doubleValue() : null);
    private static final Type<Boolean> BOOLEAN = new Type<>("true or false",
            v -> v.isBoolean() ? v.booleanValue() : null);
    private static final Type<String> STRING = new Type<>("a string", v -> v.isTextual() ? v.textValue() : null);
    private static final Type<int[]> INT_ARRAY = new Type<>("an array of 32-bit integers", JsonConfig::toIntArray);
    private static final Type<int[][]> INT_ARRAYS = new Type<>("an array of arrays of 32-bit integers",
            JsonConfig::toIntArrays);
    private static final Type<JsonNode> OBJECT = new Type<>("an object", v -> v.isObject() ? v : null);
    private static final Type<JsonNode> OBJECT_ARRAY = new Type<>("an array of objects",
            v -> v.isArray() && allObjects(v) ? v : null);

    private final Path file;
    /** Key path of this view from the root of the file; empty for the root. */
    private final String path;
    private final JsonNode node;

    private JsonConfig(Path file, String path, JsonNode node) {
        this.file = file;
        this.path = path;
        this.node = node;
    }

    /**
     * Reads {@code file}, which must hold a JSON object.
     *
     * @throws ConfigException if it does not
     * @throws IOException if it cannot be read
     */
    public static JsonConfig read(Path file) throws IOException {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new ConfigException(file + ": malformed JSON: " + Json.describe(e));
        }
        if (!root.isObject()) {
            throw new ConfigException(file + ": holds " + Json.quote(root) + ", not a JSON object");
        }
        return new JsonConfig(file, "", root);
    }

    /** Whether {@code key} is present and not null. */
    public boolean has(String key) {
        return find(key) != null;
    }

    /** This object's own keys, in file order: for readers that warn about keys they do not know. */
    public List<String> keys() {
        List<String> keys = new ArrayList<>();
        node.fieldNames().forEachRemaining(keys::add);
        return List.copyOf(keys);
    }

    /** The object at {@code key}, as a view whose errors name its full path. */
    public JsonConfig section(String key) {
        return new JsonConfig(file, qualified(key), require(key, OBJECT));
    }

    /** The objects of the array at {@code key}, as views named {@code key[0]}, {@code key[1]}, ... */
    public List<JsonConfig> sections(String key) {
        JsonNode array = require(key, OBJECT_ARRAY);
        List<JsonConfig> sections = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            sections.add(new JsonConfig(file, qualified(key) + "[" + i + "]", array.get(i)));
        }
        return List.copyOf(sections);
    }

    public int getInt(String key) {
        return require(key, INT);
    }

    public int getInt(String key, int fallback) {
        return optional(key, INT, fallback);
    }

    /** For dimensions and counts. */
    public int getPositiveInt(String key) {
        return require(key, POSITIVE_INT);
    }

    public int getPositiveInt(String key, int fallback) {
        return optional(key, POSITIVE_INT, fallback);
    }

    public long getLong(String key) {
        return require(key, LONG);
    }

    public long getLong(String key, long fallback) {
        return optional(key, LONG, fallback);
    }

    /** Any JSON number, integers included. */
    public double getDouble(String key) {
        return require(key, DOUBLE);
    }

    public double getDouble(String key, double fallback) {
        return optional(key, DOUBLE, fallback);
    }

    public boolean getBoolean(String key) {
        return require(key, BOOLEAN);
    }

    public boolean getBoolean(String key, boolean fallback) {
        return optional(key, BOOLEAN, fallback);
    }

    public String getString(String key) {
        return require(key, STRING);
    }

    public String getString(String key, String fallback) {
        return optional(key, STRING, fallback);
    }

    public int[] getIntArray(String key) {
        return require(key, INT_ARRAY);
    }

    /** An array of integer arrays, such as a list of (height, width) pairs. */
    public int[][] getIntArrays(String key) {
        return require(key, INT_ARRAYS);
    }

    /**
     * A failure for {@code key} in this file's words, for checks the typed accessors cannot make:
     * {@code throw config.invalid("pooling_function", "one of max, avg, conv")}.
     */
    public ConfigException invalid(String key, String requirement) {
        return new ConfigException(file + ": " + qualified(key) + " must be " + requirement + ", got "
                + Json.quote(find(key)));
    }

    @Override
    public String toString() {
        return path.isEmpty() ? file.toString() : file + ": " + path;
    }

    /** What a value must be, and how to read it: null when the JSON value is not of this type. */
    private record Type<T>(String requirement, Function<JsonNode, T> read) {
    }

    private <T> T require(String key, Type<T> type) {
        JsonNode value = find(key);
        if (value == null) {
            throw new ConfigException(file + ": " + qualified(key) + " is missing");
        }
        return convert(key, value, type);
    }

    private <T> T optional(String key, Type<T> type, T fallback) {
        JsonNode value = find(key);
        return value == null ? fallback : convert(key, value, type);
    }

    private <T> T convert(String key, JsonNode value, Type<T> type) {
        T converted = type.read().apply(value);
        if (converted == null) {
            throw invalid(key, type.requirement());
        }
        return converted;
    }

    /** The value at {@code key}, or null if it or an object on the way is missing. */
    private JsonNode find(String key) {
        String[] steps = key.split("\\.", -1);
        JsonNode at = node;
        for (int i = 0; i < steps.length; i++) {
            if (i > 0 && !at.isObject()) {
                throw invalid(String.join(".", List.of(steps).subList(0, i)), OBJECT.requirement());
            }
            at = at.get(steps[i]);
            if (at == null || at.isNull()) {
                return null;
            }
        }
        return at;
    }

    private String qualified(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static Integer toInt(JsonNode v) {
        return v.isIntegralNumber() && v.canConvertToInt() ? v.intValue() : null;
    }

    private static int[] toIntArray(JsonNode v) {
        if (!v.isArray()) {
            return null;
        }
        int[] values = new int[v.size()];
        for (int i = 0; i < values.length; i++) {
            Integer value = toInt(v.get(i));
            if (value == null) {
                return null;
            }
            values[i] = value;
        }
        return values;
    }

    private static int[][] toIntArrays(JsonNode v) {
        if (!v.isArray()) {
            return null;
        }
        int[][] arrays = new int[v.size()][];
        for (int i = 0; i < arrays.length; i++) {
            arrays[i] = toIntArray(v.get(i));
            if (arrays[i] == null) {
                return null;
            }
        }
        return arrays;
    }

    private static boolean allObjects(JsonNode array) {
        for (JsonNode element : array) {
            if (!element.isObject()) {
                return false;
            }
        }
        return true;
    }
}
