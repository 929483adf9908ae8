package dev.dpn.loader;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dpn.tensors.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The header of a safetensors file: an 8-byte little-endian length, then that many bytes of UTF-8 JSON mapping each
 * tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}}, with offsets counted from the end of the
 * header, and an optional {@code "__metadata__"} map of strings. Raw little-endian data follows.
 *
 * <p>{@link #read} validates everything a reader relies on before any tensor is touched. It tolerates gaps between
 * tensors and bytes after the last, which the reference implementation rejects, as they mislead no reader.
 * {@link #encode} writes the header for tensors laid out back to back, as the reference implementation requires.
 *
 * @param dataStart where the data area begins, counted from the start of the file
 * @param tensors the tensors in header order
 */
record SafetensorsHeader(long dataStart, SequencedMap<String, Entry> tensors, Map<String, String> metadata) {
    static final String METADATA_KEY = "__metadata__";
    static final int LENGTH_BYTES = 8;
    /** About where the reference implementation draws the line (100 MB): a header this large is not a model's. */
    static final long MAX_HEADER_BYTES = 100L << 20;
    /** Writers pad the header so that the data area starts 8-byte aligned. */
    private static final int DATA_ALIGNMENT = 8;

    /** A tensor and where its bytes begin in the data area. */
    record Entry(TensorInfo info, long begin) {
        long end() {
            return begin + info.byteSize();
        }
    }

    /** Reads and validates the header of {@code file}, whose whole content is {@code contents}. */
    static SafetensorsHeader read(Path file, MemorySegment contents) {
        long fileBytes = contents.byteSize();
        if (fileBytes < LENGTH_BYTES) {
            throw new SafetensorsException(file, "is " + fileBytes
                    + " bytes long, too short for the 8-byte header length");
        }
        long headerBytes = contents.get(DType.LONG, 0);
        if (headerBytes == 0) {
            throw new SafetensorsException(file, "has a header length of 0");
        }
        if (Long.compareUnsigned(headerBytes, MAX_HEADER_BYTES) > 0) {
            throw new SafetensorsException(file, "has a header length of " + Long.toUnsignedString(headerBytes)
                    + " bytes, over the limit of " + MAX_HEADER_BYTES);
        }
        if (headerBytes > fileBytes - LENGTH_BYTES) {
            throw new SafetensorsException(file, "has a header length of " + headerBytes
                    + " bytes, longer than the " + fileBytes + "-byte file");
        }
        long dataStart = LENGTH_BYTES + headerBytes;
        JsonNode root = parse(file, contents.asSlice(LENGTH_BYTES, headerBytes));

        Map<String, String> metadata = Map.of();
        SequencedMap<String, Entry> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = readMetadata(file, field.getValue());
            } else {
                tensors.put(field.getKey(), readEntry(file, field.getKey(), field.getValue(), fileBytes - dataStart));
            }
        }
        checkNoOverlap(file, tensors.values());
        return new SafetensorsHeader(dataStart, Collections.unmodifiableSequencedMap(tensors), metadata);
    }

    /**
     * Everything that precedes the data of {@code tensors} when their bytes follow back to back in this order: the
     * length, the JSON, and spaces up to 8-byte alignment.
     */
    static byte[] encode(Path file, List<TensorInfo> tensors, Map<String, String> metadata) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject(METADATA_KEY);
            metadata.forEach(m::put);
        }
        long begin = 0;
        for (TensorInfo t : tensors) {
            if (t.name().equals(METADATA_KEY)) {
                throw new SafetensorsException(file, t.name(), "takes the name reserved for metadata");
            }
            if (root.has(t.name())) {
                throw new SafetensorsException(file, t.name(), "is declared twice");
            }
            ObjectNode entry = root.putObject(t.name());
            entry.put("dtype", t.dtype().name());
            ArrayNode shape = entry.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            long end = Math.addExact(begin, t.byteSize());
            entry.putArray("data_offsets").add(begin).add(end);
            begin = end;
        }
        byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
        int padded = Math.ceilDiv(json.length, DATA_ALIGNMENT) * DATA_ALIGNMENT;
        ByteBuffer out = ByteBuffer.allocate(LENGTH_BYTES + padded).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(json);
        while (out.hasRemaining()) {
            out.put((byte) ' ');
        }
        return out.array();
    }

    private static JsonNode parse(Path file, MemorySegment bytes) {
        String text;
        try {
            // Jackson would let some malformed UTF-8 through; the decoder lets none.
            text = StandardCharsets.UTF_8.newDecoder().decode(bytes.asByteBuffer()).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(file, "has a header that is not valid UTF-8");
        }
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(file, "has a malformed JSON header: " + Json.describe(e));
        }
        if (!root.isObject()) {
            throw new SafetensorsException(file, "has a header of " + Json.quote(root) + ", not a JSON object");
        }
        return root;
    }

    private static Map<String, String> readMetadata(Path file, JsonNode node) {
        if (!node.isObject()) {
            throw new SafetensorsException(file, "has " + METADATA_KEY + " " + Json.quote(node) + ", not an object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (!field.getValue().isTextual()) {
                throw new SafetensorsException(file, "has " + METADATA_KEY + " \"" + field.getKey() + "\": "
                        + Json.quote(field.getValue()) + ", not a string");
            }
            metadata.put(field.getKey(), field.getValue().textValue());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static Entry readEntry(Path file, String name, JsonNode entry, long dataBytes) {
        if (!entry.isObject()) {
            throw new SafetensorsException(file, name, "is " + Json.quote(entry)
                    + ", not an object with dtype, shape and data_offsets");
        }
        JsonNode dtypeName = field(file, name, entry, "dtype");
        if (!dtypeName.isTextual()) {
            throw new SafetensorsException(file, name, "has dtype " + Json.quote(dtypeName) + ", not a string");
        }
        DType dtype = DType.fromSafetensorsName(dtypeName.textValue()).orElseThrow(
                () -> new SafetensorsException(file, name, "has unknown dtype " + Json.quote(dtypeName)));
        long[] shape = naturals(file, name, entry, "shape");
        long[] offsets = naturals(file, name, entry, "data_offsets");
        if (offsets.length != 2) {
            throw new SafetensorsException(file, name, "has data_offsets " + Json.quote(entry.get("data_offsets"))
                    + ", not [begin, end]");
        }
        TensorInfo info;
        try {
            info = new TensorInfo(name, dtype, shape);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new SafetensorsException(file, name, "has an impossible " + dtype + " shape "
                    + Arrays.toString(shape) + ": " + e.getMessage());
        }
        long begin = offsets[0];
        long end = offsets[1];
        String where = "data_offsets [" + begin + ", " + end + "]";
        if (begin > end) {
            throw new SafetensorsException(file, name, "has " + where + " that end before they begin");
        }
        if (end > dataBytes) {
            throw new SafetensorsException(file, name, "has " + where + " beyond the " + dataBytes
                    + "-byte data area (is the file truncated?)");
        }
        if (end - begin != info.byteSize()) {
            throw new SafetensorsException(file, name, "has " + where + " spanning " + (end - begin)
                    + " bytes, but " + dtype + " " + Arrays.toString(shape) + " takes " + info.byteSize());
        }
        return new Entry(info, begin);
    }

    private static JsonNode field(Path file, String name, JsonNode entry, String key) {
        JsonNode value = entry.get(key);
        if (value == null) {
            throw new SafetensorsException(file, name, "has no " + key);
        }
        return value;
    }

    /** A JSON array of non-negative integers that fit a long. */
    private static long[] naturals(Path file, String name, JsonNode entry, String key) {
        JsonNode array = field(file, name, entry, key);
        if (array.isArray()) {
            long[] values = new long[array.size()];
            int n = 0;
            for (JsonNode v : array) {
                if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                    break;
                }
                values[n++] = v.longValue();
            }
            if (n == values.length) {
                return values;
            }
        }
        throw new SafetensorsException(file, name, "has " + key + " " + Json.quote(array)
                + ", not an array of non-negative integers");
    }

    /** Sorted by where they begin, tensors are disjoint if each begins no earlier than its predecessor ends. */
    private static void checkNoOverlap(Path file, Collection<Entry> entries) {
        List<Entry> sorted = entries.stream()
                .filter(e -> e.info().byteSize() > 0)
                .sorted(Comparator.comparingLong(Entry::begin))
                .toList();
        for (int i = 1; i < sorted.size(); i++) {
            Entry previous = sorted.get(i - 1);
            Entry next = sorted.get(i);
            if (next.begin() < previous.end()) {
                throw new SafetensorsException(file, next.info().name(), "overlaps tensor \"" + previous.info().name()
                        + "\": data_offsets [" + next.begin() + ", " + next.end() + "] and [" + previous.begin()
                        + ", " + previous.end() + "]");
            }
        }
    }
}
