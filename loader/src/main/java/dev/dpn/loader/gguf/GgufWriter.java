package dev.dpn.loader.gguf;

import dev.dpn.loader.TensorInfo;
import dev.dpn.tensors.DType;
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
 * Writes a GGUF v3 file (llama.cpp's model format) without ever holding it in memory: the caller declares the
 * metadata and every tensor up front (the header lists each tensor's offset), then streams each tensor's bytes in
 * declared order, in as many chunks as it likes.
 *
 * <p>Layout: magic "GGUF", version, tensor and metadata counts, the metadata, the tensor infos (name, dimensions
 * innermost first, GGML type, offset), then the data section; it and every tensor in it start at a multiple of
 * {@link #ALIGNMENT}, which the metadata records as {@code general.alignment}. A tensor's bytes are the dtype's
 * storage as is: Q8_0 and Q4_0 blocks have GGML's layout already. If a tensor is incomplete when the writer is
 * closed, the file is deleted and the close fails.
 */
public final class GgufWriter implements AutoCloseable {
    public static final int ALIGNMENT = 32;
    static final int MAGIC = 0x46554747;
    static final int VERSION = 3;
    private static final int PIECE_BYTES = 1 << 20;

    private final Path file;
    private final FileChannel channel;
    private final List<TensorInfo> tensors;
    private final Map<String, Integer> positions = new HashMap<>();
    private int current;
    private long received;
    private ByteBuffer staging;

    private GgufWriter(Path file, FileChannel channel, List<TensorInfo> tensors) {
        this.file = file;
        this.channel = channel;
        this.tensors = tensors;
        for (int i = 0; i < tensors.size(); i++) {
            if (positions.put(tensors.get(i).name(), i) != null) {
                throw new IllegalArgumentException(file + ": tensor " + tensors.get(i).name() + " is declared twice");
            }
        }
    }

    /**
     * Creates (or replaces) {@code file} and writes its header: {@code metadata} with {@code general.alignment}
     * added, and the infos of {@code tensors} (shapes outermost first, as everywhere else in dpn).
     *
     * @throws IllegalArgumentException if a tensor's dtype has no GGML type, or a name repeats
     */
    public static GgufWriter create(Path file, GgufMetadata metadata, List<TensorInfo> tensors) throws IOException {
        metadata.putUInt32("general.alignment", ALIGNMENT);
        GgufMetadata.Encoder header = new GgufMetadata.Encoder()
                .int32(MAGIC).int32(VERSION).int64(tensors.size()).int64(metadata.size());
        metadata.encodeTo(header);
        long offset = 0;
        for (TensorInfo tensor : tensors) {
            long[] shape = tensor.shape();
            header.string(tensor.name()).int32(shape.length);
            for (int d = shape.length - 1; d >= 0; d--) {
                header.int64(shape[d]);
            }
            header.int32(ggmlType(file, tensor)).int64(offset);
            offset = aligned(offset + tensor.byteSize());
        }
        header.bytes(new byte[(int) (aligned(header.size()) - header.size())]);

        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
        GgufWriter writer;
        try {
            writer = new GgufWriter(file, channel, List.copyOf(tensors));
            writer.writeFully(ByteBuffer.wrap(header.toByteArray()));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return writer;
    }

    /** GGML's number for the storage type of {@code tensor}. */
    static int ggmlType(Path file, TensorInfo tensor) {
        return switch (tensor.dtype()) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 8;
            case BF16 -> 30;
            default -> throw new IllegalArgumentException(file + ": tensor " + tensor.name() + " is "
                    + tensor.dtype() + ", which GGUF cannot store");
        };
    }

    static long aligned(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /**
     * Appends {@code bytes} to tensor {@code name}; the tensors before it must be complete and its chunks must hold
     * exactly its byte size.
     *
     * @throws IllegalArgumentException if {@code name} was not declared, comes out of order, or would overflow
     */
    public void write(String name, MemorySegment bytes) throws IOException {
        moveTo(name);
        long room = tensors.get(current).byteSize() - received;
        if (bytes.byteSize() > room) {
            throw new IllegalArgumentException(file + ": tensor " + name + " would receive "
                    + (received + bytes.byteSize()) + " bytes, but it holds " + tensors.get(current).byteSize());
        }
        for (long at = 0; at < bytes.byteSize(); at += PIECE_BYTES) {
            MemorySegment piece = bytes.asSlice(at, Math.min(PIECE_BYTES, bytes.byteSize() - at));
            writeFully(piece.isNative() ? piece.asByteBuffer() : staged(piece));
        }
        received += bytes.byteSize();
    }

    /**
     * Finishes the file. If a tensor is incomplete, deletes the file instead and throws.
     *
     * @throws IllegalStateException if a declared tensor did not receive all its bytes
     */
    @Override
    public void close() throws IOException {
        if (!channel.isOpen()) {
            return;
        }
        try (channel) {
            moveTo(tensors.size());
        } catch (IllegalStateException e) {
            Files.deleteIfExists(file);
            throw e;
        }
    }

    private void moveTo(String name) throws IOException {
        Integer position = positions.get(name);
        if (position == null) {
            throw new IllegalArgumentException(file + ": tensor " + name + " was not declared");
        }
        if (position < current) {
            throw new IllegalArgumentException(file + ": tensor " + name + " comes after "
                    + tensors.get(current).name() + ", which has begun");
        }
        moveTo(position);
    }

    /** Moves on to tensor {@code position}: checks the ones before are complete and pads each to the alignment. */
    private void moveTo(int position) throws IOException {
        for (; current < position; current++, received = 0) {
            TensorInfo t = tensors.get(current);
            if (received != t.byteSize()) {
                throw new IllegalStateException(file + ": tensor " + t.name() + " received " + received + " of its "
                        + t.byteSize() + " bytes");
            }
            if (current + 1 < tensors.size()) {
                writeFully(ByteBuffer.allocate((int) (aligned(t.byteSize()) - t.byteSize())));
            }
        }
    }

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
