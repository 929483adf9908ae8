package dev.dpn.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Runs the built {@code dpn.jar} as a user would: {@code java -jar dpn.jar ...}, with no JVM flags. */
class JarEndToEndTest {
    private static final Path JAR = Path.of("../cli/target/dpn.jar");
    private static final Path GOLDENS = Path.of("src/test/resources/goldens/kernels.safetensors");

    record Result(int exitCode, String out, String err) {
    }

    @Test
    void inspectPrintsTheTensorTable() throws Exception {
        Result r = run(currentJava(), "inspect", GOLDENS.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("matmul_f16_1x13x37\\.w\\s+F16\\s+\\[13, 37]\\s+962")), r.out());
        assertTrue(r.out().contains("metadata generator = make_kernel_goldens.py"), r.out());
    }

    @Test
    void anOldDefaultJavaRelaunchesOnAJdk25() throws Exception {
        Path java17 = Path.of("/usr/lib/jvm/java-17-openjdk-amd64/bin/java");
        assumeTrue(Files.isExecutable(java17), "no Java 17 on this machine to play the old default java");
        Result r = run(java17, "--version");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().matches("(?s)dpn .* on Java 2[5-9].*"), r.out());
    }

    @Test
    void badInputGivesOneLineAndAnExitCode() throws Exception {
        Result missing = run(currentJava(), "inspect", "no/such/model.safetensors");
        assertEquals(1, missing.exitCode());
        assertEquals("dpn: no such file or folder: no/such/model.safetensors", missing.err().strip());

        Path corrupt = Files.createTempFile("corrupt", ".safetensors");
        try {
            Files.write(corrupt, new byte[] {(byte) 0xff, 0, 0, 0, 0, 0, 0, 0, '{'});
            Result r = run(currentJava(), "inspect", corrupt.toString());
            assertEquals(1, r.exitCode());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("dpn: ") && r.err().contains(corrupt.getFileName().toString()), r.err());
        } finally {
            Files.delete(corrupt);
        }

        Result usage = run(currentJava(), "inspect", "--bogus");
        assertEquals(2, usage.exitCode());
        assertTrue(usage.err().contains("Unknown option: '--bogus'"), usage.err());

        Result noPrompt = run(currentJava(), "--image", "x.png");
        assertEquals(2, noPrompt.exitCode());
        assertTrue(noPrompt.err().contains("Missing required options: --image and --prompt"), noPrompt.err());
    }

    private static Path currentJava() {
        return Path.of(System.getProperty("java.home"), "bin", "java");
    }

    private static Result run(Path java, String... args) throws IOException, InterruptedException {
        assertTrue(Files.isRegularFile(JAR), "build the jar first (the cli module's package phase): " + JAR);
        List<String> command = new ArrayList<>(List.of(java.toString(), "-jar", JAR.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        Path err = Files.createTempFile("dpn", ".err"); // a file, so a chatty stderr cannot block the child
        try {
            Process p = builder.redirectError(err.toFile()).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "dpn did not finish");
            return new Result(p.exitValue(), out, Files.readString(err));
        } finally {
            Files.delete(err);
        }
    }
}
