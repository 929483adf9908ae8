package dev.dpn.cli;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The jar's entry point: makes {@code java -jar dpn.jar} work whatever JVM runs it.
 *
 * <p>dpn needs JDK 25 started with {@code --add-modules jdk.incubator.vector} and native access, and a jar manifest
 * cannot add modules. So when this JVM is too old or lacks the module, the launcher starts a second JVM (this one if
 * it is new enough, else a JDK ≥ 25 from {@code JAVA_HOME} or the usual JVM folders) with the flags and waits for it.
 * The {@code -X} options this JVM was started with ({@code java -Xmx256m -jar dpn.jar}) go to the second JVM too.
 *
 * <p>Compiled for Java 17 (the oldest default {@code java} we expect) and using nothing but the JDK, so that an old
 * JVM can load it and say clearly what it needs instead of failing with {@code UnsupportedClassVersionError}.
 */
public final class Launcher {
    static final int REQUIRED_FEATURE = 25;
    static final List<String> JVM_FLAGS =
            List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED");
    /**
     * JIT directives for the relaunched JVM, which mostly answers one question and exits. Until C2 compiles a kernel
     * with the Vector API intrinsics inlined, the kernel runs the API's Java fallbacks; they get hot, and C2 would
     * compile them on their own: ~0.9 s of compile time on the same cores, never used once the kernels are compiled.
     * Excluded from standalone C2 compilation, they stay inlinable. With {@link #JIT_FLAGS}, measured on 2 cores, a
     * cold answer of the embedded model went from 2.0-2.3 s to 1.8-2.0 s and the 700-answer eval from 23 s to 21 s.
     */
    private static final String JIT_DIRECTIVES =
            "[{match: [\"jdk/incubator/vector/*.*\", \"jdk/internal/vm/vector/*.*\"], c2: {Exclude: true}}]";
    /** The kernels reach C2 after a fifth of the usual invocations: their profiles settle fast. */
    private static final List<String> JIT_FLAGS = List.of("-XX:CompileCommand=quiet",
            "-XX:CompileCommand=CompileThresholdScaling,dev.dpn.kernels.cpu.*::*,0.2");
    /** Set in the child's environment so that a misconfigured child cannot relaunch forever. */
    private static final String RELAUNCHED = "DPN_RELAUNCHED";
    private static final String MAIN = "dev.dpn.cli.Dpn";
    /** What the child JVM prints about our own flags: noise to the user. */
    private static final List<String> JVM_NOTICES = List.of(
            "WARNING: Using incubator modules: jdk.incubator.vector", "1 compiler directives added");

    private Launcher() {
    }

    public static void main(String[] args) throws Exception {
        if (Runtime.version().feature() >= REQUIRED_FEATURE && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            runMain(args);
            return;
        }
        if (System.getenv(RELAUNCHED) != null) {
            fail("the relaunched JVM still lacks jdk.incubator.vector (java.home " + System.getProperty("java.home") + ")");
        }
        Optional<Path> java = findJava();
        if (java.isEmpty()) {
            fail("needs a JDK " + REQUIRED_FEATURE + " or newer; this is Java " + Runtime.version().feature()
                    + " and none was found in JAVA_HOME or /usr/lib/jvm. Install one or set JAVA_HOME.");
        }
        System.exit(relaunch(java.get(), args));
    }

    private static void runMain(String[] args) throws Exception {
        try {
            Class.forName(MAIN).getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
    }

    private static int relaunch(Path java, String[] args) throws IOException, InterruptedException {
        Path directives = Files.createTempFile("dpn-jit", ".json");
        try {
            Files.write(directives, JIT_DIRECTIVES.getBytes(StandardCharsets.UTF_8));
            ProcessBuilder builder = new ProcessBuilder(command(java, directives, args)).inheritIO()
                    .redirectError(ProcessBuilder.Redirect.PIPE);
            builder.environment().put(RELAUNCHED, "1");
            Process child = builder.start();
            // Ctrl-C reaches both JVMs (same process group); the hook covers a plain kill of this one.
            Runtime.getRuntime().addShutdownHook(new Thread(child::destroy));
            Thread errors = new Thread(() -> forwardErrors(child.getErrorStream()), "dpn-stderr");
            errors.start();
            int status = child.waitFor();
            errors.join();
            return status;
        } finally {
            Files.deleteIfExists(directives);
        }
    }

    /** The child JVM's command line: dpn's flags, the JIT directives in {@code directives}, then the user's args. */
    private static List<String> command(Path java, Path directives, String[] args) {
        List<String> command = new ArrayList<>();
        command.add(java.toString());
        command.addAll(JVM_FLAGS);
        command.add("-XX:+UnlockDiagnosticVMOptions");
        command.add("-XX:CompilerDirectivesFile=" + directives);
        // The JVM announces the directives on stdout, which is the answer's stream; on stderr they are filtered.
        command.add("-XX:+DisplayVMOutputToStderr");
        command.addAll(JIT_FLAGS);
        command.addAll(memoryAndVmOptions());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(MAIN);
        command.addAll(Arrays.asList(args));
        return command;
    }

    /**
     * Copies the child's stderr to ours, less the JVM's notices about the incubator module and the JIT directives:
     * the flags are ours, not the user's, so the notices would only be noise on every run.
     */
    private static void forwardErrors(InputStream in) {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (!JVM_NOTICES.contains(line)) {
                    System.err.println(line);
                }
            }
        } catch (IOException e) {
            System.err.println("dpn: lost the output of the relaunched JVM: " + e.getMessage());
        }
    }

    /**
     * The user's {@code -X} options (heap size, {@code -XX:} settings), which the user meant for the JVM that runs
     * dpn; other options (agents, system properties) stay with this one.
     */
    static List<String> memoryAndVmOptions() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(option -> option.startsWith("-X"))
                .toList();
    }

    /** This JVM if it is new enough, else JAVA_HOME, else the newest JDK ≥ 25 under the usual folders. */
    static Optional<Path> findJava() {
        Stream<Path> candidates = Stream.concat(
                Stream.of(System.getProperty("java.home"), System.getenv("JAVA_HOME"))
                        .filter(s -> s != null && !s.isEmpty()).map(Paths::get),
                Stream.of("/usr/lib/jvm", "/usr/local/lib/jvm", "/opt/java", "/opt")
                        .flatMap(Launcher::children).sorted(Comparator.comparingInt(Launcher::featureVersion).reversed()));
        return candidates.filter(home -> featureVersion(home) >= REQUIRED_FEATURE)
                .map(home -> home.resolve("bin").resolve(isWindows() ? "java.exe" : "java"))
                .filter(Files::isExecutable)
                .findFirst();
    }

    private static Stream<Path> children(String folder) {
        File[] files = new File(folder).listFiles(File::isDirectory);
        return files == null ? Stream.empty() : Arrays.stream(files).map(File::toPath);
    }

    /** The feature version from a Java home's {@code release} file (JAVA_VERSION="25.0.1"), or 0. */
    static int featureVersion(Path home) {
        try (Stream<String> lines = Files.lines(home.resolve("release"))) {
            return lines.filter(l -> l.startsWith("JAVA_VERSION="))
                    .map(l -> l.substring("JAVA_VERSION=".length()).replace("\"", ""))
                    .map(v -> v.startsWith("1.") ? v.substring(2) : v)
                    .map(v -> v.split("[^0-9]", 2)[0])
                    .filter(v -> !v.isEmpty())
                    .mapToInt(Integer::parseInt)
                    .findFirst().orElse(0);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static boolean isWindows() {
        return System.getProperty("os.name", "").startsWith("Windows");
    }

    private static void fail(String message) {
        System.err.println("dpn: " + message);
        System.exit(2);
    }
}
