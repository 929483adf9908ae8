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
    /** The kind of each argument so far, in {@link Kernel#parameters} letters. */
    private final char[] kinds = new char[SLOTS];
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
        values.set(JAVA_LONG, 8L * slot('p'), address);
        return this;
    }

    LaunchArgs i64(long value) {
        values.set(JAVA_LONG, 8L * slot('l'), value);
        return this;
    }

    LaunchArgs i32(int value) {
        values.set(JAVA_INT, 8L * slot('i'), value);
        return this;
    }

    LaunchArgs f32(float value) {
        values.set(JAVA_FLOAT, 8L * slot('f'), value);
        return this;
    }

    /** Whether the arguments so far are exactly {@code parameters}, in {@link Kernel#parameters} letters. */
    boolean matches(String parameters) {
        if (parameters.length() != count) {
            return false;
        }
        for (int i = 0; i < count; i++) {
            if (parameters.charAt(i) != kinds[i]) {
                return false;
            }
        }
        return true;
    }

    /** The arguments so far, in {@link Kernel#parameters} letters: for error messages. */
    String kinds() {
        return new String(kinds, 0, count);
    }

    MemorySegment pointers() {
        return pointers;
    }

    private int slot(char kind) {
        if (count == SLOTS) {
            throw new IllegalStateException("more than " + SLOTS + " kernel arguments");
        }
        kinds[count] = kind;
        return count++;
    }
}
