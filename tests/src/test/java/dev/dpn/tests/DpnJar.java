package dev.dpn.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the built {@code dpn.jar} as a user would: {@code java -jar dpn.jar ...}, with no JVM flags. */
final class DpnJar {
    static final Path JAR = Path.of("../cli/target/dpn.jar");

    record Result(int exitCode, String out, String err) {
    }

    private DpnJar() {
    }

    /** The JVM running the tests: a JDK 25 without the flags, so the jar's launcher relaunches it. */
    static Path currentJava() {
        return Path.of(System.getProperty("java.home"), "bin", "java");
    }

    static Result run(String... args) throws IOException, InterruptedException {
        return run(currentJava(), args);
    }

    static Result run(Path java, String... args) throws IOException, InterruptedException {
        return run(java, List.of(), args);
    }

    /** With {@code jvmOptions} before {@code -jar}, as a user sets the heap: {@code java -Xmx256m -jar dpn.jar}. */
    static Result run(Path java, List<String> jvmOptions, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(java.toString()));
        command.addAll(jvmOptions);
        command.addAll(List.of("-jar", JAR.toString()));
        command.addAll(List.of(args));
        return collect(new ProcessBuilder(command));
    }

    /** Runs {@code command} in bash, for what needs a shell: raw bytes in arguments, piped input. */
    static Result runShell(String command) throws IOException, InterruptedException {
        return collect(new ProcessBuilder("bash", "-c", command));
    }

    /** Asserts the exit code and a one-line error message starting with {@code start}. */
    static void assertOneLine(int exitCode, String start, Result r) {
        assertEquals(exitCode, r.exitCode(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith(start), "expected '" + start + "...', got: " + r.err());
    }

    private static Result collect(ProcessBuilder builder) throws IOException, InterruptedException {
        assertTrue(Files.isRegularFile(JAR), "build the jar first (the cli module's package phase): " + JAR);
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
