package dev.dpn.loader;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte, so that tests can make the malformed ones no writer would. */
final class CraftedFiles {
    private CraftedFiles() {
    }

    /** A file of {@code header}'s UTF-8 bytes, with their true length in front and {@code data} after. */
    static Path write(Path file, String header, byte[] data) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        return write(file, json.length, concat(json, data));
    }

    /** A file of a header length, which may lie, followed by {@code rest}. */
    static Path write(Path file, long headerLength, byte[] rest) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(8 + rest.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(headerLength).put(rest);
        return Files.write(file, bytes.array());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = new byte[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }
}
