package dev.dpn.measure;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReadBandwidthTest {
    /**
     * Regions of 1.0f whose sums stay exact in floats (below 2^24): every whole step of four vectors is read once,
     * across chunk boundaries and regions, and the bytes left over (under 128, less than one step at 8 or 16
     * lanes) are neither read nor counted.
     */
    @Test
    void readsEveryWholeStepOfTheGivenRegionsOnce() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment large = ones(arena, (5L << 20) + 100);
            MemorySegment small = ones(arena, 1024 + 64);
            try (ReadBandwidth loop = ReadBandwidth.over(List.of(large, small), 2)) {
                long expected = (5L << 20) + 1024;
                assertEquals(expected, loop.bytes());
                assertEquals(expected / 4, loop.sum());
                assertEquals(expected / 4, loop.sum(), "a second pass reads the same");
            }
        }
    }

    @Test
    void ownBufferIsReadWhole() {
        try (ReadBandwidth loop = new ReadBandwidth(1)) {
            assertEquals(ReadBandwidth.BYTES, loop.bytes());
        }
    }

    private static MemorySegment ones(Arena arena, long bytes) {
        MemorySegment segment = arena.allocate(bytes, 64);
        for (long at = 0; at + 4 <= bytes; at += 4) {
            segment.set(ValueLayout.JAVA_FLOAT_UNALIGNED, at, 1f);
        }
        return segment;
    }
}
