package dev.dpn.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The team's hand-over: every chunk once per operation, whether its workers were polling or parked. A lost wake-up
 * would hang an operation: the timeout turns that into a failure.
 */
@Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ParallelTest {

    @Test
    void everyChunkRunsOncePerOperation() throws InterruptedException {
        try (Parallel parallel = new Parallel(3)) {
            for (int op = 0; op < 2000; op++) {
                int chunks = 1 + op % 37;
                AtomicIntegerArray runs = new AtomicIntegerArray(chunks);
                parallel.run(chunks, runs::incrementAndGet);
                for (int c = 0; c < chunks; c++) {
                    assertEquals(1, runs.get(c), "operation " + op + ", chunk " + c);
                }
                if (op % 500 == 499) {
                    Thread.sleep(5); // longer than any poll: the workers park and must be woken
                }
            }
        }
    }

    @Test
    void aFailingChunkIsRethrownAndTheTeamGoesOn() {
        try (Parallel parallel = new Parallel(2)) {
            IllegalStateException failure = new IllegalStateException("chunk 5");
            var thrown = assertThrows(IllegalStateException.class, () -> parallel.run(64, c -> {
                if (c == 5) {
                    throw failure;
                }
            }));
            assertSame(failure, thrown);
            AtomicIntegerArray runs = new AtomicIntegerArray(8);
            parallel.run(8, runs::incrementAndGet);
            for (int c = 0; c < 8; c++) {
                assertEquals(1, runs.get(c));
            }
        }
    }
}
