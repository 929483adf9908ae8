package dev.dpn.measure;

import dev.dpn.kernels.cpu.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Sums an off-heap F32 buffer far larger than any cache, with the Vector API on a team of threads: the rate at
 * which memory can be read, hence the ceiling of a matrix-vector product, which reads every weight once.
 */
public final class ReadBandwidth implements AutoCloseable {
    /** 1 GiB: dozens of times the last-level cache of the machines this runs on. */
    public static final long BYTES = 1L << 30;
    /** Each thread sums whole chunks, handed out dynamically by the team. */
    private static final long CHUNK_BYTES = 4L << 20;
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment buffer;
    private final Parallel team;
    private final float[] chunkSums;
    private final IntConsumer sumChunk;

    public ReadBandwidth(int threads) {
        buffer = arena.allocate(BYTES, CHUNK_BYTES);
        // Non-zero bytes: a real write to every page, so none stays unbacked or mapped to the shared zero page.
        buffer.fill((byte) 0x3F);
        team = new Parallel(threads);
        chunkSums = new float[Math.toIntExact(BYTES / CHUNK_BYTES)];
        sumChunk = chunk -> chunkSums[chunk] = sum(chunk * CHUNK_BYTES);
    }

    /** Reads the whole buffer once; returns its sum so the reads cannot be optimised away. */
    public float sum() {
        team.run(chunkSums.length, sumChunk);
        float total = 0;
        for (float s : chunkSums) {
            total += s;
        }
        return total;
    }

    /** Four independent accumulators keep enough loads in flight to saturate memory, not the adder. */
    private float sum(long from) {
        long step = SPECIES.vectorByteSize();
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (long at = from, end = from + CHUNK_BYTES; at < end; at += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(SPECIES, buffer, at, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(SPECIES, buffer, at + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(SPECIES, buffer, at + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(SPECIES, buffer, at + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void close() {
        team.close();
        arena.close();
    }
}
