package dev.dpn.loader.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF reader written from the specification alone, independent of the writer, for checking what it wrote:
 * every metadata value of every type becomes a Java value (arrays as lists), and each tensor's info and bytes.
 * Reads the whole file into memory, so only for small test files.
 */
final class GgufFile {
    record TensorEntry(String name, long[] dims, int type, long offset) {
    }

    final int version;
    final Map<String, Object> metadata = new LinkedHashMap<>();
    final List<TensorEntry> tensors = new ArrayList<>();
    /** Where the data section begins. */
    final long dataStart;
    private final ByteBuffer file;

    GgufFile(Path path) throws IOException {
        file = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[4];
        file.get(magic);
        if (!new String(magic, StandardCharsets.US_ASCII).equals("GGUF")) {
            throw new IllegalStateException("not a GGUF file: magic " + new String(magic, StandardCharsets.US_ASCII));
        }
        version = file.getInt();
        long tensorCount = file.getLong();
        long kvCount = file.getLong();
        for (long i = 0; i < kvCount; i++) {
            String key = string();
            metadata.put(key, value(file.getInt()));
        }
        for (long i = 0; i < tensorCount; i++) {
            String name = string();
            long[] dims = new long[file.getInt()];
            for (int d = 0; d < dims.length; d++) {
                dims[d] = file.getLong();
            }
            tensors.add(new TensorEntry(name, dims, file.getInt(), file.getLong()));
        }
        long alignment = ((Number) metadata.getOrDefault("general.alignment", 32)).longValue();
        dataStart = (file.position() + alignment - 1) / alignment * alignment;
    }

    TensorEntry tensor(String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no tensor " + name));
    }

    /** {@code length} bytes of tensor {@code name}. */
    byte[] bytes(String name, int length) {
        byte[] bytes = new byte[length];
        file.get(Math.toIntExact(dataStart + tensor(name).offset()), bytes);
        return bytes;
    }

    long fileSize() {
        return file.capacity();
    }

    private Object value(int type) {
        return switch (type) {
            case 0 -> Byte.toUnsignedInt(file.get());
            case 1 -> (int) file.get();
            case 2 -> Short.toUnsignedInt(file.getShort());
            case 3 -> (int) file.getShort();
            case 4 -> Integer.toUnsignedLong(file.getInt());
            case 5 -> file.getInt();
            case 6 -> file.getFloat();
            case 7 -> file.get() != 0;
            case 8 -> string();
            case 9 -> {
                int elementType = file.getInt();
                long count = file.getLong();
                List<Object> list = new ArrayList<>();
                for (long i = 0; i < count; i++) {
                    list.add(value(elementType));
                }
                yield list;
            }
            case 10, 11 -> file.getLong();
            case 12 -> file.getDouble();
            default -> throw new IllegalStateException("unknown GGUF value type " + type);
        };
    }

    private String string() {
        byte[] utf8 = new byte[Math.toIntExact(file.getLong())];
        file.get(utf8);
        return new String(utf8, StandardCharsets.UTF_8);
    }
}
