package dev.dpn.kernels.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed team of threads that runs the chunks of one operation at a time: the caller plus {@code threads − 1}
 * daemon workers. Chunks are handed out dynamically from an atomic counter, so uneven chunks balance themselves.
 * Not reentrant: one {@link #run} at a time (the backend is single-caller).
 *
 * <p>Between operations an idle worker polls for the next one, for as long as its part of the last one took
 * (20 to 200 µs), before it parks. A decode step of a 7B model runs about 300 operations of 0.1-0.5 ms back to
 * back, and a parked worker took ~40 µs to wake on this kind of VM, which the operation's caller waited out: polling,
 * the random 7B Q4_0 model decoded 8.22 instead of 7.69 tokens/s (means of 4 interleaved runs, 661 positions).
 * Bounding the polls by the work keeps a worker from holding a core while the caller runs alone; the 20 µs floor
 * catches the next of a run of small operations (without it the tiny model decoded 15% slower). Up to 1 ms, a cold
 * JVM's compiler threads found the second core busy more often (the tiny model's first request took longer).
 */
public final class Parallel implements AutoCloseable {
    /** The longest an idle worker polls: the gaps between a step's operations are far shorter. */
    private static final long MAX_SPIN_NANOS = 200_000;
    /** The shortest: enough to catch the next of a run of small operations. */
    private static final long MIN_SPIN_NANOS = 20_000;
    /** Polls of the caller for its workers' last chunks before it yields its core to them instead. */
    private static final int CALLER_SPINS = 1 << 16;

    private final int threads;
    private final Thread[] workers;
    /** 1 where worker i is parked or about to park, so the next {@link #run} must unpark it. */
    private final AtomicIntegerArray parked;
    private final AtomicInteger next = new AtomicInteger();
    /** Workers not yet out of chunks in the current operation. */
    private final AtomicInteger busy = new AtomicInteger();
    /** Advanced by the caller alone, once per operation: what the workers wait on. */
    private volatile long generation;
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
        this.parked = new AtomicIntegerArray(workers.length);
        for (int i = 0; i < workers.length; i++) {
            int index = i;
            workers[i] = Thread.ofPlatform().daemon().name("dpn-cpu-" + (i + 1)).start(() -> work(index));
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
        busy.set(workers.length);
        generation++;
        wakeParked();
        drain();
        for (int spins = 0; busy.get() != 0; spins++) {
            if (spins < CALLER_SPINS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        this.task = null;
        Throwable f = failure;
        if (f instanceof RuntimeException e) {
            throw e;
        } else if (f instanceof Error e) {
            throw e;
        }
    }

    private void work(int index) {
        long seen = 0;
        long spin = 0;
        while (true) {
            seen = awaitNext(index, seen, spin);
            if (closed) {
                return;
            }
            long start = System.nanoTime();
            drain();
            busy.decrementAndGet();
            spin = Math.clamp(System.nanoTime() - start, MIN_SPIN_NANOS, MAX_SPIN_NANOS);
        }
    }

    /**
     * Waits until the caller advances {@link #generation} past {@code seen} (or closes) and returns the new one,
     * polling for {@code spin} nanoseconds, then parked. The parked flag is set before the last look at the
     * generation and the caller advances it before looking at the flag (all volatile), so a worker about to park is
     * either seen and unparked or sees the new operation.
     */
    private long awaitNext(int index, long seen, long spin) {
        long deadline = System.nanoTime() + spin;
        while (generation == seen && !closed) {
            if (System.nanoTime() - deadline < 0) {
                Thread.onSpinWait();
                continue;
            }
            parked.set(index, 1);
            while (generation == seen && !closed) {
                LockSupport.park(this);
            }
            parked.set(index, 0);
        }
        return generation;
    }

    private void wakeParked() {
        for (int i = 0; i < workers.length; i++) {
            if (parked.get(i) != 0) {
                LockSupport.unpark(workers[i]);
            }
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
            wakeParked();
        }
    }
}
