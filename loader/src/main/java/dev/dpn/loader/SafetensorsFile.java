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
    /** The file as mapped, for {@link #unload}. */
    private final MemorySegment mapping;
    /** The same memory as a plain native segment, which every tensor is a slice of (see {@link #open}). */
    private final MemorySegment contents;
    private final SafetensorsHeader header;

    private SafetensorsFile(Path path, Arena arena, MemorySegment mapping, MemorySegment contents,
                            SafetensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
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
            MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            // Tensors are slices of a plain native view of the mapping, in the same arena, not of the mapped segment:
            // the kernels' vector loads then see one segment class, weights and activations alike. Mapped weights
            // beside native activations made the same loops run slower: a 7B F16 decode from the mapping 2.4-2.5
            // tokens/s, through the native view 3.0-3.1; with the weights copied into memory it slowed to 1.5 once
            // the image path had read the (mapped) patch embedding through the same loads.
            MemorySegment contents = MemorySegment.ofAddress(mapping.address())
                    .reinterpret(mapping.byteSize(), arena, null);
            return new SafetensorsFile(path, arena, mapping, contents, SafetensorsHeader.read(path, contents));
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

    /**
     * Drops the pages of tensor {@code name} from this process (the OS may keep them cached), for a tensor that will
     * not be read again, such as one copied or converted on load; reading it later pages it in again.
     */
    public void unload(String name) {
        SafetensorsHeader.Entry e = entry(name);
        mapping.asSlice(header.dataStart() + e.begin(), e.info().byteSize()).unload();
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
