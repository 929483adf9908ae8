package dev.dpn.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The committed PTX is what nvcc makes of the CUDA source, and has every kernel the backend launches. */
class PtxTest {
    private static final Path SOURCE = Path.of("src/main/cuda/dpn_kernels.cu");
    private static final Path NVCC = Path.of("/usr/local/cuda/bin/nvcc");

    @ParameterizedTest
    @ValueSource(strings = {"sm_80", "sm_90"})
    void everyLaunchedKernelHasAnEntry(String arch) throws IOException {
        String ptx = committed(arch);
        assertTrue(ptx.contains(".target " + arch), "PTX for " + arch);
        for (Kernel kernel : Kernel.values()) {
            assertTrue(ptx.contains(".entry " + kernel.entry() + "("), kernel.entry() + " missing from " + arch);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sm_80", "sm_90"})
    void theCommittedPtxIsUpToDate(String arch, @TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(NVCC), "no nvcc at " + NVCC);
        Path out = dir.resolve(arch + ".ptx");
        Process nvcc = new ProcessBuilder(NVCC.toString(), "-ptx", "-O3", "-arch=compute_" + arch.substring(3), "-o",
                out.toString(), SOURCE.toString()).redirectErrorStream(true).start();
        String log = new String(nvcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(nvcc.waitFor(120, TimeUnit.SECONDS), "nvcc timed out");
        assertEquals(0, nvcc.exitValue(), log);
        // nvcc's header comments name its build; the code must be identical.
        assertEquals(code(Files.readString(out)), code(committed(arch)),
                "src/main/resources/dev/dpn/kernels/cuda/dpn_kernels." + arch + ".ptx is stale: rebuild the kernels "
                        + "module with nvcc installed (profile nvcc) and commit the PTX");
    }

    private static String committed(String arch) throws IOException {
        try (InputStream in = CudaBackend.class.getResourceAsStream("dpn_kernels." + arch + ".ptx")) {
            assertNotNull(in, "no committed PTX for " + arch);
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    private static List<String> code(String ptx) {
        return ptx.lines().filter(line -> !line.startsWith("//")).collect(Collectors.toList());
    }
}
