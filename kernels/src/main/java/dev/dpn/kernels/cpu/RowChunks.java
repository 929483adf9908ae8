package dev.dpn.kernels.cpu;

/**
 * Splits the rows of one operation into chunks for {@link Parallel#run}. A chunk holds at least {@link #GRAIN}
 * elements of work, so an operation too small to pay for waking the team (a decode step) runs as one chunk on the
 * caller's thread, while a large one yields many chunks that balance across the threads.
 */
final class RowChunks {
    /** Elements of work per chunk: tens of microseconds, well above the cost of handing a chunk to a thread. */
    static final long GRAIN = 1 << 15;

    /** The rows {@code [from, to)} of one chunk. */
    @FunctionalInterface
    interface Body {
        void rows(long from, long to);
    }

    private RowChunks() {
    }

    /**
     * Runs {@code body} over {@code [0, rows)} in chunks of whole rows. A flat element-wise operation passes its
     * elements as rows of work 1; chunks then start at multiples of {@link #GRAIN}, so only the last has a tail
     * shorter than a vector.
     */
    static void run(Parallel parallel, long rows, long workPerRow, Body body) {
        long rowsPerChunk = Math.max(1, GRAIN / Math.max(1, workPerRow));
        int chunks = Math.toIntExact(Math.ceilDiv(rows, rowsPerChunk));
        parallel.run(chunks, chunk -> {
            long from = chunk * rowsPerChunk;
            body.rows(from, Math.min(rows, from + rowsPerChunk));
        });
    }
}
