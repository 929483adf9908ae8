package dev.dpn.tests;

import static dev.dpn.tests.DpnJar.assertOneLine;
import static dev.dpn.tests.DpnJar.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import org.junit.jupiter.api.Test;

/**
 * {@code --device}: cuda without a GPU is one line and exit 1 (for questions and for {@code dpn bench}), auto falls
 * back to the CPU silently.
 */
class DeviceOptionJarTest {
    private static final String[] QUESTION = {"--image", "../world/eval/0009.png", "--prompt",
            "What color is the background?", "--max-tokens", "3"};

    @Test
    void withoutADriverCudaFailsInOneLineAndAutoAnswersOnTheCpu() throws Exception {
        assumeFalse(driverPresent(), "this machine has libcuda.so.1");
        assertOneLine(1, "dpn: no CUDA driver found (libcuda.so.1)", run(with("--device", "cuda")));
        DpnJar.Result auto = run(with("--device", "AUTO"));
        assertEquals(0, auto.exitCode(), auto.err());
        assertEquals("green", auto.out().lines().findFirst().orElse(""), auto.out());
        assertEquals("", auto.err(), "auto says nothing when it falls back");
    }

    @Test
    void benchOnCudaWithoutADriverFailsInOneLine() throws Exception {
        assumeFalse(driverPresent(), "this machine has libcuda.so.1");
        // The progress line "bench: opening ..." comes first on stderr; the failure is the last line.
        DpnJar.Result r = run("bench", "--model", "../models/tiny-dpn-llava", "--device", "cuda");
        assertEquals(1, r.exitCode(), r.err());
        assertEquals("dpn: no CUDA driver found (libcuda.so.1)", r.err().strip().lines().reduce((a, b) -> b)
                .orElse(""), r.err());
        assertEquals("", r.out());
        DpnJar.Result usage = run("bench", "--model", "../models/tiny-dpn-llava", "--device", "tpu");
        assertEquals(2, usage.exitCode(), usage.err());
    }

    @Test
    void anUnknownDeviceIsAUsageError() throws Exception {
        DpnJar.Result r = run(with("--device", "tpu"));
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("unknown device 'tpu' (cpu, cuda or auto)"), r.err());
    }

    private static String[] with(String... more) {
        String[] args = new String[QUESTION.length + more.length];
        System.arraycopy(QUESTION, 0, args, 0, QUESTION.length);
        System.arraycopy(more, 0, args, QUESTION.length, more.length);
        return args;
    }

    private static boolean driverPresent() {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup("libcuda.so.1", arena);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
