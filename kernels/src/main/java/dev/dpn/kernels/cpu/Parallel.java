package dev.dpn.kernels.cpu;

import java.util.concurrent.Phaser;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * A fixed team of threads that runs the chunks of one operation at a time: the caller plus {@code threads − 1}
 * daemon workers. Chunks are handed out dynamically from an atomic counter, so uneven chunks balance themselves.
 * Not reentrant: one {@link #run} at a time (the backend is single-caller).
 */
public final class Parallel implements AutoCloseable {
    private final int threads;
    private final Thread[] workers;
    /** Advanced by the caller alone: a broadcast that wakes the workers. */
    private final Phaser start = new Phaser(1);
    /** Every thread arrives when out of chunks; the caller waits for all. */
    private final Phaser done = new Phaser(1);
    private final AtomicInteger next = new AtomicInteger();
    private volatile IntConsumer task;
    private volatile int chunks;
    private volatile boolean closed;
    private volatile Throwable failure;

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("thread count must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            done.register();
            workers[i] = Thread.ofPlatform().daemon().name("dpn-cpu-" + (i + 1)).start(this::work);
        }
    }

    /** The number of threads that run chunks, the caller included. */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body.accept(chunk)} for every chunk in {@code [0, chunks)} across the team and returns when all
     * are done; rethrows the first failure.
     */
    public void run(int chunks, IntConsumer body) {
        if (chunks <= 0) {
            return;
        }
        if (chunks == 1 || workers.length == 0) {
            for (int c = 0; c < chunks; c++) {
                body.accept(c);
            }
            return;
        }
        this.task = body;
        this.chunks = chunks;
        this.failure = null;
        next.set(0);
        start.arrive();
        drain();
        done.arriveAndAwaitAdvance();
        this.task = null;
        Throwable f = failure;
        if (f instanceof RuntimeException e) {
            throw e;
        } else if (f instanceof Error e) {
            throw e;
        }
    }

    private void work() {
        int phase = 0;
        while (true) {
            phase = start.awaitAdvance(phase);
            if (closed) {
                return;
            }
            drain();
            done.arrive();
        }
    }

    private void drain() {
        IntConsumer body = task;
        int n = chunks;
        for (int c = next.getAndIncrement(); c < n; c = next.getAndIncrement()) {
            try {
                body.accept(c);
            } catch (Throwable t) {
                if (failure == null) {
                    failure = t;
                }
                next.set(n);
            }
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            start.arrive();
        }
    }
}
