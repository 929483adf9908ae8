package dev.dpn.loader;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
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
    /** Chunks go to the file in pieces of at most this size, which is also the size of the staging buffer. */
    private static final int PIECE_BYTES = 1 << 20;

    private final Path file;
    private final FileChannel channel;
    private final List<TensorInfo> tensors;
    private final Map<String, Integer> positions = new HashMap<>();
    /** The tensor now being written, and how many of its bytes have arrived. */
    private int current;
    private long received;
    /** Where chunks on the heap are copied on their way out; allocated on first need. */
    private ByteBuffer staging;

    private SafetensorsWriter(Path file, FileChannel channel, List<TensorInfo> tensors) {
        this.file = file;
        this.channel = channel;
        this.tensors = tensors;
        for (int i = 0; i < tensors.size(); i++) {
            positions.put(tensors.get(i).name(), i);
        }
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
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
        SafetensorsWriter writer = new SafetensorsWriter(file, channel, List.copyOf(tensors));
        try {
            writer.writeFully(ByteBuffer.wrap(header));
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        return writer;
    }

    /**
     * Appends {@code bytes} to tensor {@code name}. The tensors before it must be complete, and together its chunks
     * must hold exactly its byte size.
     *
     * @throws SafetensorsException if {@code name} was not declared, comes out of order, or would overflow
     */
    public void write(String name, MemorySegment bytes) throws IOException {
        moveTo(name);
        long room = tensors.get(current).byteSize() - received;
        if (bytes.byteSize() > room) {
            throw new SafetensorsException(file, name, "would receive " + (received + bytes.byteSize())
                    + " bytes, but it holds " + tensors.get(current).byteSize());
        }
        for (long at = 0; at < bytes.byteSize(); at += PIECE_BYTES) {
            MemorySegment piece = bytes.asSlice(at, Math.min(PIECE_BYTES, bytes.byteSize() - at));
            writeFully(piece.isNative() ? piece.asByteBuffer() : staged(piece));
        }
        received += bytes.byteSize();
    }

    /**
     * Finishes the file. If a tensor is incomplete, deletes it instead and throws.
     *
     * @throws SafetensorsException if a declared tensor did not receive all its bytes
     */
    @Override
    public void close() throws IOException {
        if (!channel.isOpen()) {
            return;
        }
        try (channel) {
            moveTo(tensors.size());
        } catch (SafetensorsException e) {
            Files.deleteIfExists(file);
            throw e;
        }
    }

    private void moveTo(String name) {
        Integer position = positions.get(name);
        if (position == null) {
            throw new SafetensorsException(file, name, "was not declared");
        }
        if (position < current) {
            throw new SafetensorsException(file, name, "is declared before \"" + tensors.get(current).name()
                    + "\", which has begun");
        }
        moveTo(position);
    }

    /** Moves on to tensor {@code position}, checking that every tensor before it is complete. */
    private void moveTo(int position) {
        for (; current < position; current++, received = 0) {
            TensorInfo t = tensors.get(current);
            if (received != t.byteSize()) {
                throw new SafetensorsException(file, t.name(), "received " + received + " of its " + t.byteSize()
                        + " bytes");
            }
        }
    }

    /** A heap segment has a ByteBuffer view only if it wraps a byte[]; a copy works for all. */
    private ByteBuffer staged(MemorySegment piece) {
        if (staging == null) {
            staging = ByteBuffer.allocateDirect(PIECE_BYTES);
        }
        staging.clear().limit((int) piece.byteSize());
        MemorySegment.ofBuffer(staging).copyFrom(piece);
        return staging;
    }

    private void writeFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
