package dev.dpn.runtime.text;

import java.util.Arrays;

/**
 * A binary min-heap of candidate merges, each packed into a long as {@code rank << 32 | position}, so that the
 * lowest rank comes first and, among equal ranks, the leftmost pair: the order both BPE flavours merge in.
 */
final class PairQueue {
    /** Slots from {@code size} on hold MAX_VALUE, so a sift can read a missing right child as "larger". */
    private final long[] heap;
    private int size;

    /** A queue that holds at most {@code capacity} candidates. */
    PairQueue(int capacity) {
        heap = new long[capacity + 1];
        Arrays.fill(heap, Long.MAX_VALUE);
    }

    static long candidate(int rank, int position) {
        return (long) rank << 32 | position;
    }

    static int rank(long candidate) {
        return (int) (candidate >>> 32);
    }

    static int position(long candidate) {
        return (int) candidate;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void add(long candidate) {
        int child = size++;
        while (child > 0) {
            int parent = (child - 1) >>> 1;
            if (heap[parent] <= candidate) {
                break;
            }
            heap[child] = heap[parent];
            child = parent;
        }
        heap[child] = candidate;
    }

    long poll() {
        long top = heap[0];
        long last = heap[--size];
        heap[size] = Long.MAX_VALUE;
        int parent = 0;
        for (int child = 1; child < size; child = 2 * parent + 1) {
            // Which child is smaller is unpredictable; choosing without a branch halves the time of encoding.
            child += heap[child + 1] < heap[child] ? 1 : 0;
            if (last <= heap[child]) {
                break;
            }
            heap[parent] = heap[child];
            parent = child;
        }
        heap[parent] = last;
        return top;
    }
}
