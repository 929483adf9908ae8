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
 * A tensor file written without ever being held in memory: its header, then the bytes of tensors declared up front,
 * appended in declared order in chunks of any size, each tensor padded to the format's alignment. The safetensors and
 * GGUF writers differ only in their headers and errors, and share this.
 *
 * <p>If a tensor is incomplete when the stream is closed, the file is deleted and the close fails, so that no
 * truncated file is left behind.
 */
public final class TensorDataStream implements AutoCloseable {
    /** How a format reports a misuse: the tensor concerned and what is wrong with it. */
    @FunctionalInterface
    public interface Errors {
        RuntimeException of(String tensor, String problem);
    }

    /** Chunks go to the file in pieces of at most this size, which is also the size of the staging buffer. */
    private static final int PIECE_BYTES = 1 << 20;

    private final Path file;
    private final FileChannel channel;
    private final List<TensorInfo> tensors;
    private final int alignment;
    private final Errors errors;
    private final Map<String, Integer> positions = new HashMap<>();
    /** The tensor now being written, and how many of its bytes have arrived. */
    private int current;
    private long received;
    /** Where chunks on the heap are copied on their way out; allocated on first need. */
    private ByteBuffer staging;

    private TensorDataStream(Path file, FileChannel channel, List<TensorInfo> tensors, int alignment,
                             Errors errors) {
        this.file = file;
        this.channel = channel;
        this.tensors = tensors;
        this.alignment = alignment;
        this.errors = errors;
        for (int i = 0; i < tensors.size(); i++) {
            if (positions.put(tensors.get(i).name(), i) != null) {
                throw errors.of(tensors.get(i).name(), "is declared twice");
            }
        }
    }

    /**
     * Creates (or replaces) {@code file} and writes {@code header}, which must end where the first tensor starts.
     * Each tensor but the last is followed by zeros up to a multiple of {@code alignment} bytes.
     */
    public static TensorDataStream create(Path file, byte[] header, List<TensorInfo> tensors, int alignment,
                                          Errors errors) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
        try {
            TensorDataStream stream = new TensorDataStream(file, channel, List.copyOf(tensors), alignment, errors);
            stream.writeFully(ByteBuffer.wrap(header));
            return stream;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** {@code offset} rounded up to the next multiple of {@code alignment}. */
    public static long aligned(long offset, int alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }

    /** Appends {@code bytes} to tensor {@code name}; see the writers for the rules. */
    public void write(String name, MemorySegment bytes) throws IOException {
        moveTo(name);
        long size = tensors.get(current).byteSize();
        if (bytes.byteSize() > size - received) {
            throw errors.of(name, "would receive " + (received + bytes.byteSize()) + " bytes, but it holds " + size);
        }
        for (long at = 0; at < bytes.byteSize(); at += PIECE_BYTES) {
            MemorySegment piece = bytes.asSlice(at, Math.min(PIECE_BYTES, bytes.byteSize() - at));
            writeFully(piece.isNative() ? piece.asByteBuffer() : staged(piece));
        }
        received += bytes.byteSize();
    }

    /** Finishes the file; if a tensor is incomplete, deletes it instead and throws the format's error. */
    @Override
    public void close() throws IOException {
        if (!channel.isOpen()) {
            return;
        }
        try (channel) {
            moveTo(tensors.size());
        } catch (RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
    }

    private void moveTo(String name) throws IOException {
        Integer position = positions.get(name);
        if (position == null) {
            throw errors.of(name, "was not declared");
        }
        if (position < current) {
            throw errors.of(name, "is declared before \"" + tensors.get(current).name() + "\", which has begun");
        }
        moveTo(position);
    }

    /** Moves on to tensor {@code position}: checks that the ones before are complete and pads each. */
    private void moveTo(int position) throws IOException {
        for (; current < position; current++, received = 0) {
            TensorInfo t = tensors.get(current);
            if (received != t.byteSize()) {
                throw errors.of(t.name(), "received " + received + " of its " + t.byteSize() + " bytes");
            }
            if (current + 1 < tensors.size()) {
                writeFully(ByteBuffer.allocate((int) (aligned(t.byteSize(), alignment) - t.byteSize())));
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
