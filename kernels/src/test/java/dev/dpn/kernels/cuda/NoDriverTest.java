package dev.dpn.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import org.junit.jupiter.api.Test;

/** On a machine without the NVIDIA driver, CUDA fails with one clear message and nothing else happens. */
class NoDriverTest {

    @Test
    void withoutLibcudaOpeningTheBackendSaysSoInOneLine() {
        assumeFalse(driverPresent(), "this machine has " + CudaDriver.LIBRARY);
        for (int attempt = 0; attempt < 2; attempt++) { // the failed lookup leaves nothing half-initialised
            var e = assertThrows(CudaUnavailableException.class, CudaBackend::open);
            assertEquals("no CUDA driver found (libcuda.so.1)", e.getMessage());
        }
    }

    static boolean driverPresent() {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup(CudaDriver.LIBRARY, arena);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
