package dev.dpn.loader.gguf;

import dev.dpn.loader.TensorDataStream;
import dev.dpn.loader.TensorInfo;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

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

    private final TensorDataStream stream;

    private GgufWriter(TensorDataStream stream) {
        this.stream = stream;
    }

    /**
     * Creates (or replaces) {@code file} and writes its header: {@code metadata} with {@code general.alignment}
     * added, and the infos of {@code tensors} (shapes outermost first, as everywhere else in dpn).
     *
     * @throws IllegalArgumentException if a tensor's dtype has no GGML type
     * @throws IllegalStateException if a name repeats
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

        return new GgufWriter(TensorDataStream.create(file, header.toByteArray(), tensors, ALIGNMENT,
                (tensor, problem) -> new IllegalStateException(file + ": tensor " + tensor + " " + problem)));
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
        return TensorDataStream.aligned(offset, ALIGNMENT);
    }

    /**
     * Appends {@code bytes} to tensor {@code name}; the tensors before it must be complete and its chunks must hold
     * exactly its byte size.
     *
     * @throws IllegalStateException if {@code name} was not declared, comes out of order, or would overflow
     */
    public void write(String name, MemorySegment bytes) throws IOException {
        stream.write(name, bytes);
    }

    /**
     * Finishes the file. If a tensor is incomplete, deletes the file instead and throws.
     *
     * @throws IllegalStateException if a declared tensor did not receive all its bytes
     */
    @Override
    public void close() throws IOException {
        stream.close();
    }
}
