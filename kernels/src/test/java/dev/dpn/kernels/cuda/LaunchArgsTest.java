package dev.dpn.kernels.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The {@code void**} array cuLaunchKernel reads: entry i points at argument i's value, in the parameter's type. */
class LaunchArgsTest {

    @Test
    void eachPointerLeadsToItsArgumentAndTheKindsAreRecorded() {
        try (Arena arena = Arena.ofConfined()) {
            LaunchArgs args = new LaunchArgs(arena);
            args.clear().pointer(0xDEAD_BEEF_0000L).i32(-7).f32(0.5f).i64(1L << 40);
            MemorySegment pointers = args.pointers();
            assertEquals(0xDEAD_BEEF_0000L, slot(pointers, 0).get(JAVA_LONG, 0));
            assertEquals(-7, slot(pointers, 1).get(JAVA_INT, 0));
            assertEquals(0.5f, slot(pointers, 2).get(JAVA_FLOAT, 0));
            assertEquals(1L << 40, slot(pointers, 3).get(JAVA_LONG, 0));
            assertTrue(args.matches("pifl"));
            assertFalse(args.matches("pifp"));
            assertFalse(args.matches("pif"));
            assertTrue(args.clear().i32(1).matches("i"), "clear starts a new list");
        }
    }

    private static MemorySegment slot(MemorySegment pointers, int i) {
        return pointers.getAtIndex(ADDRESS, i).reinterpret(8);
    }
}
