package dev.dpn.loader.gguf;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The key-value metadata of a GGUF file, in insertion order, each value with its GGUF type. Only the types a
 * llama model needs are offered: unsigned 32-bit integers, 32-bit floats, booleans, strings and arrays of strings,
 * floats and signed 32-bit integers.
 */
public final class GgufMetadata {
    // gguf_type, as the GGUF specification numbers the value types.
    static final int UINT32 = 4;
    static final int INT32 = 5;
    static final int FLOAT32 = 6;
    static final int BOOL = 7;
    static final int STRING = 8;
    static final int ARRAY = 9;

    /** A value already encoded as its type's bytes (type id first). */
    private final Map<String, byte[]> values = new LinkedHashMap<>();

    public GgufMetadata putUInt32(String key, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(key + ": " + value + " does not fit an unsigned 32-bit integer");
        }
        return put(key, UINT32, new Encoder().int32((int) value));
    }

    public GgufMetadata putFloat32(String key, float value) {
        return put(key, FLOAT32, new Encoder().float32(value));
    }

    public GgufMetadata putBool(String key, boolean value) {
        return put(key, BOOL, new Encoder().int8(value ? 1 : 0));
    }

    public GgufMetadata putString(String key, String value) {
        return put(key, STRING, new Encoder().string(value));
    }

    public GgufMetadata putStrings(String key, List<String> strings) {
        Encoder array = new Encoder().int32(STRING).int64(strings.size());
        strings.forEach(array::string);
        return put(key, ARRAY, array);
    }

    public GgufMetadata putFloats(String key, float[] floats) {
        Encoder array = new Encoder().int32(FLOAT32).int64(floats.length);
        for (float f : floats) {
            array.float32(f);
        }
        return put(key, ARRAY, array);
    }

    public GgufMetadata putInts(String key, int[] ints) {
        Encoder array = new Encoder().int32(INT32).int64(ints.length);
        for (int i : ints) {
            array.int32(i);
        }
        return put(key, ARRAY, array);
    }

    int size() {
        return values.size();
    }

    /** Every key-value pair as the GGUF header lists them: key string, value type, value. */
    void encodeTo(Encoder out) {
        values.forEach((key, value) -> out.string(key).bytes(value));
    }

    private GgufMetadata put(String key, int type, Encoder value) {
        if (values.containsKey(key)) {
            throw new IllegalArgumentException("metadata key " + key + " is set twice");
        }
        values.put(key, new Encoder().int32(type).bytes(value.toByteArray()).toByteArray());
        return this;
    }

    /** Little-endian GGUF primitives into a growing byte array. */
    static final class Encoder {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Encoder int8(int value) {
            bytes.write(value);
            return this;
        }

        Encoder int32(int value) {
            return bytes(scratch.clear().putInt(value), 4);
        }

        Encoder int64(long value) {
            return bytes(scratch.clear().putLong(value), 8);
        }

        Encoder float32(float value) {
            return bytes(scratch.clear().putFloat(value), 4);
        }

        /** A gguf_string: its UTF-8 byte count as a uint64, then the bytes, no terminator. */
        Encoder string(String value) {
            byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
            return int64(utf8.length).bytes(utf8);
        }

        Encoder bytes(byte[] value) {
            bytes.writeBytes(value);
            return this;
        }

        int size() {
            return bytes.size();
        }

        byte[] toByteArray() {
            return bytes.toByteArray();
        }

        private Encoder bytes(ByteBuffer buffer, int count) {
            bytes.write(buffer.array(), 0, count);
            return this;
        }
    }
}
