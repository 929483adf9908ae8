package dev.dpn.loader;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file without ever holding it in memory: the caller declares every tensor up front (the
 * header comes first and records each one's offsets), then streams each tensor's bytes, in declared order, in as
 * many chunks as it likes.
 *
 * <p>Tensors are laid out back to back as the reference implementation requires, so a tensor's alignment follows
 * from the sizes before it: declaring wider element types first keeps every tensor aligned to its element. If a
 * tensor is missing bytes when the writer is closed, the file is deleted and the close fails, so that no
 * incomplete file is left behind.
 */
public final class SafetensorsWriter implements AutoCloseable {
    private final TensorDataStream stream;

    private SafetensorsWriter(TensorDataStream stream) {
        this.stream = stream;
    }

    /**
     * Creates (or replaces) {@code file} and writes the header for {@code tensors} and {@code metadata} (omitted
     * when empty).
     *
     * @throws SafetensorsException if two tensors share a name or one takes the reserved name
     */
    public static SafetensorsWriter create(Path file, List<TensorInfo> tensors, Map<String, String> metadata)
            throws IOException {
        byte[] header = SafetensorsHeader.encode(file, tensors, metadata);
        return new SafetensorsWriter(TensorDataStream.create(file, header, tensors, 1,
                (tensor, problem) -> new SafetensorsException(file, tensor, problem)));
    }

    /**
     * Appends {@code bytes} to tensor {@code name}. The tensors before it must be complete, and together its chunks
     * must hold exactly its byte size.
     *
     * @throws SafetensorsException if {@code name} was not declared, comes out of order, or would overflow
     */
    public void write(String name, MemorySegment bytes) throws IOException {
        stream.write(name, bytes);
    }

    /**
     * Finishes the file. If a tensor is incomplete, deletes it instead and throws.
     *
     * @throws SafetensorsException if a declared tensor did not receive all its bytes
     */
    @Override
    public void close() throws IOException {
        stream.close();
    }
}
