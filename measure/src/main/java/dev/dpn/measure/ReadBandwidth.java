package dev.dpn.measure;

import dev.dpn.kernels.cpu.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Sums memory as floats with the Vector API on a team of threads, doing nothing else: the rate at which it can be
 * read, hence the ceiling of a matrix-vector product, which reads every weight once. Either an off-heap buffer of
 * its own, far larger than any cache, or regions the caller holds, such as the mapped weights a decode step reads.
 */
public final class ReadBandwidth implements AutoCloseable {
    /** 1 GiB: dozens of times the last-level cache of the machines this runs on. */
    public static final long BYTES = 1L << 30;
    /** Each thread sums whole chunks, handed out dynamically by the team. */
    private static final long CHUNK_BYTES = 4L << 20;
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Bytes per step of {@link #sum(MemorySegment)}: four vectors. */
    private static final long STEP = 4L * SPECIES.vectorByteSize();

    private final Arena arena;
    private final List<MemorySegment> chunks;
    private final long bytes;
    private final Parallel team;
    private final float[] chunkSums;
    private final IntConsumer sumChunk;

    /** A loop over a buffer of its own, {@link #BYTES} long, freed on {@link #close()}. */
    public ReadBandwidth(int threads) {
        this(Arena.ofShared(), threads);
    }

    private ReadBandwidth(Arena arena, int threads) {
        this(arena, List.of(filled(arena)), threads);
    }

    private ReadBandwidth(Arena arena, List<MemorySegment> regions, int threads) {
        this.arena = arena;
        this.chunks = new ArrayList<>();
        for (MemorySegment region : regions) {
            // Whole steps only: what a chunk leaves over is not read, and not counted.
            long usable = region.byteSize() - region.byteSize() % STEP;
            for (long at = 0; at < usable; at += CHUNK_BYTES) {
                chunks.add(region.asSlice(at, Math.min(CHUNK_BYTES, usable - at)));
            }
        }
        this.bytes = chunks.stream().mapToLong(MemorySegment::byteSize).sum();
        this.team = new Parallel(threads);
        this.chunkSums = new float[chunks.size()];
        this.sumChunk = chunk -> chunkSums[chunk] = sum(chunks.get(chunk));
    }

    /**
     * A loop over {@code regions}, which the caller keeps readable until {@link #close()}: the same bytes, pages
     * and mapping as the work it is compared with.
     */
    public static ReadBandwidth over(List<MemorySegment> regions, int threads) {
        return new ReadBandwidth(null, regions, threads);
    }

    private static MemorySegment filled(Arena arena) {
        MemorySegment buffer = arena.allocate(BYTES, CHUNK_BYTES);
        // Non-zero bytes: a real write to every page, so none stays unbacked or mapped to the shared zero page.
        buffer.fill((byte) 0x3F);
        return buffer;
    }

    /** The bytes one {@link #sum()} reads. */
    public long bytes() {
        return bytes;
    }

    /** Reads all the bytes once; returns their sum as floats so the reads cannot be optimised away. */
    public float sum() {
        team.run(chunkSums.length, sumChunk);
        float total = 0;
        for (float s : chunkSums) {
            total += s;
        }
        return total;
    }

    /** Four independent accumulators keep enough loads in flight to saturate memory, not the adder. */
    private static float sum(MemorySegment chunk) {
        long step = SPECIES.vectorByteSize();
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (long at = 0, end = chunk.byteSize(); at < end; at += STEP) {
            a0 = a0.add(FloatVector.fromMemorySegment(SPECIES, chunk, at, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(SPECIES, chunk, at + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(SPECIES, chunk, at + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(SPECIES, chunk, at + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void close() {
        team.close();
        if (arena != null) {
            arena.close();
        }
    }
}
