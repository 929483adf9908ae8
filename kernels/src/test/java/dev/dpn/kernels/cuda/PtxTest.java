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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The committed PTX is what nvcc makes of the CUDA source, assembles for its GPU generation, and has every kernel
 * the backend launches.
 */
class PtxTest {
    private static final Path SOURCE = Path.of("src/main/cuda/dpn_kernels.cu");
    private static final Path NVCC = Path.of("/usr/local/cuda/bin/nvcc");
    private static final Path PTXAS = Path.of("/usr/local/cuda/bin/ptxas");

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
    void everyKernelTakesTheParametersTheBackendPasses(String arch) throws IOException {
        String ptx = committed(arch);
        for (Kernel kernel : Kernel.values()) {
            Matcher entry = Pattern.compile("\\.entry " + kernel.entry() + "\\(([^)]*)\\)").matcher(ptx);
            assertTrue(entry.find(), kernel.entry());
            List<String> types = Pattern.compile("\\.param \\.(\\w+)").matcher(entry.group(1)).results()
                    .map(m -> m.group(1)).toList();
            List<String> expected = kernel.parameters().chars()
                    .mapToObj(c -> switch (c) {
                        case 'p', 'l' -> "u64";
                        case 'i' -> "u32";
                        case 'f' -> "f32";
                        default -> throw new AssertionError("parameter letter " + (char) c);
                    })
                    .toList();
            assertEquals(expected, types, kernel.entry() + " in " + arch);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sm_80", "sm_90"})
    void theCommittedPtxIsUpToDate(String arch, @TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(NVCC), "no nvcc at " + NVCC);
        Path out = dir.resolve(arch + ".ptx");
        run(NVCC.toString(), "-ptx", "-O3", "-arch=compute_" + arch.substring(3), "-o", out.toString(),
                SOURCE.toString());
        // nvcc's header comments name its build; the code must be identical.
        assertEquals(code(Files.readString(out)), code(committed(arch)),
                "src/main/resources/dev/dpn/kernels/cuda/dpn_kernels." + arch + ".ptx is stale: rebuild the kernels "
                        + "module with nvcc installed (profile nvcc) and commit the PTX");
    }

    @ParameterizedTest
    @ValueSource(strings = {"sm_80", "sm_90"})
    void theCommittedPtxAssemblesForItsGpu(String arch, @TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(PTXAS), "no ptxas at " + PTXAS);
        Path ptx = dir.resolve(arch + ".ptx");
        Files.writeString(ptx, committed(arch), StandardCharsets.US_ASCII);
        run(PTXAS.toString(), "-arch=" + arch, "-o", dir.resolve(arch + ".cubin").toString(), ptx.toString());
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), command[0] + " timed out");
        assertEquals(0, process.exitValue(), log);
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
