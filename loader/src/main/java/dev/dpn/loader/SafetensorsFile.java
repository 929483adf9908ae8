package dev.dpn.loader;

import dev.dpn.tensors.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.SequencedSet;

/**
 * One safetensors file, memory-mapped once and read in place: every {@link Tensor} it hands out is a slice of the
 * mapping, so opening costs a header parse whatever the file's size, and nothing is copied onto the heap.
 *
 * <p>{@link #open} validates the whole header (types, shapes, offsets, overlaps) and rejects a malformed file with
 * a {@link SafetensorsException} before any tensor can be read. The mapping lives until {@link #close()}, after
 * which the tensors handed out may no longer be read. Tensors may be read from any thread.
 */
public final class SafetensorsFile implements AutoCloseable {
    private final Path path;
    private final Arena arena;
    private final MemorySegment contents;
    private final SafetensorsHeader header;

    private SafetensorsFile(Path path, Arena arena, MemorySegment contents, SafetensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.contents = contents;
        this.header = header;
    }

    /**
     * Maps and validates {@code path}.
     *
     * @throws SafetensorsException if the file is not valid safetensors
     * @throws IOException if it cannot be read
     */
    public static SafetensorsFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment contents = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return new SafetensorsFile(path, arena, contents, SafetensorsHeader.read(path, contents));
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** Names of the tensors, in the order the header lists them. */
    public SequencedSet<String> names() {
        return header.tensors().sequencedKeySet();
    }

    public boolean contains(String name) {
        return header.tensors().containsKey(name);
    }

    /** Dtype and shape of tensor {@code name}, from the header alone. */
    public TensorInfo info(String name) {
        return entry(name).info();
    }

    /** Tensor {@code name}, a view of the mapped file: reading it pages the data in, nothing is copied. */
    public Tensor tensor(String name) {
        SafetensorsHeader.Entry e = entry(name);
        MemorySegment data = contents.asSlice(header.dataStart() + e.begin(), e.info().byteSize());
        return Tensor.of(data, e.info().dtype(), e.info().shape());
    }

    /** The header's {@code __metadata__}, empty if it has none. */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Unmaps the file; tensors handed out may no longer be read. Closing twice is harmless. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return path.toString();
    }

    private SafetensorsHeader.Entry entry(String name) {
        SafetensorsHeader.Entry e = header.tensors().get(name);
        if (e == null) {
            throw new SafetensorsException(path, name, "is not in this file of " + header.tensors().size()
                    + " tensors");
        }
        return e;
    }
}
