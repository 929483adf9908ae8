package dev.dpn.kernels.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The {@code void** kernelParams} of cuLaunchKernel, allocated once: slot i holds argument i's value (8 bytes, the
 * widest argument; the kernel reads as many bytes as the parameter's type has, little-endian) and a fixed array
 * points at the slots. Filling it allocates nothing.
 */
final class LaunchArgs {
    private static final int SLOTS = 16;

    private final MemorySegment values;
    private final MemorySegment pointers;
    private int count;

    LaunchArgs(Arena arena) {
        values = arena.allocate(8L * SLOTS, 8);
        pointers = arena.allocate(ADDRESS, SLOTS);
        for (int i = 0; i < SLOTS; i++) {
            pointers.setAtIndex(ADDRESS, i, values.asSlice(8L * i, 8));
        }
    }

    /** Starts a new argument list. */
    LaunchArgs clear() {
        count = 0;
        return this;
    }

    /** A device pointer, or 0 for a null one. */
    LaunchArgs pointer(long address) {
        values.set(JAVA_LONG, 8L * slot(), address);
        return this;
    }

    LaunchArgs i64(long value) {
        return pointer(value);
    }

    LaunchArgs i32(int value) {
        values.set(JAVA_INT, 8L * slot(), value);
        return this;
    }

    LaunchArgs f32(float value) {
        values.set(JAVA_FLOAT, 8L * slot(), value);
        return this;
    }

    MemorySegment pointers() {
        return pointers;
    }

    private int slot() {
        if (count == SLOTS) {
            throw new IllegalStateException("more than " + SLOTS + " kernel arguments");
        }
        return count++;
    }
}
