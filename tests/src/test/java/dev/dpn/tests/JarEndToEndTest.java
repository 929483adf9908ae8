package dev.dpn.tests;

import static dev.dpn.tests.DpnJar.JAR;
import static dev.dpn.tests.DpnJar.assertOneLine;
import static dev.dpn.tests.DpnJar.currentJava;
import static dev.dpn.tests.DpnJar.run;
import static dev.dpn.tests.DpnJar.runShell;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the built {@code dpn.jar} as a user would: {@code java -jar dpn.jar ...}, with no JVM flags. */
class JarEndToEndTest {
    private static final Path GOLDENS = Path.of("src/test/resources/goldens/kernels.safetensors");

    @Test
    void inspectPrintsTheTensorTable() throws Exception {
        DpnJar.Result r = run(currentJava(), "inspect", GOLDENS.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("matmul_f16_1x13x37\\.w\\s+F16\\s+\\[13, 37]\\s+962")), r.out());
        assertTrue(r.out().contains("metadata generator = make_kernel_goldens.py"), r.out());
    }

    /** The README's main command: the embedded tiny DPN model answers a coarse question it gets right. */
    @Test
    void theEmbeddedModelAnswersAboutAnImage() throws Exception {
        DpnJar.Result r = run("--image", "../world/eval/0009.png", "--prompt", "What color is the background?",
                "--stats");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("", r.err(), "the JVM's notices about dpn's own flags are filtered");
        assertEquals("green", r.out().lines().findFirst().orElse(""), r.out());
        assertTrue(r.out().contains("DPE layer 1 ") && r.out().contains("LLM prefill"), r.out());
    }

    @Test
    void anOldDefaultJavaRelaunchesOnAJdk25() throws Exception {
        Path java17 = Path.of("/usr/lib/jvm/java-17-openjdk-amd64/bin/java");
        assumeTrue(Files.isExecutable(java17), "no Java 17 on this machine to play the old default java");
        DpnJar.Result r = run(java17, "--version");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().matches("(?s)dpn .* on Java 2[5-9].*"), r.out());
    }

    @Test
    void badInputGivesOneLineAndAnExitCode() throws Exception {
        DpnJar.Result missing = run(currentJava(), "inspect", "no/such/model.safetensors");
        assertEquals(1, missing.exitCode());
        assertEquals("dpn: no such file or folder: no/such/model.safetensors", missing.err().strip());

        Path corrupt = Files.createTempFile("corrupt", ".safetensors");
        try {
            Files.write(corrupt, new byte[] {(byte) 0xff, 0, 0, 0, 0, 0, 0, 0, '{'});
            DpnJar.Result r = run(currentJava(), "inspect", corrupt.toString());
            assertEquals(1, r.exitCode());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("dpn: ") && r.err().contains(corrupt.getFileName().toString()), r.err());
        } finally {
            Files.delete(corrupt);
        }

        DpnJar.Result usage = run(currentJava(), "inspect", "--bogus");
        assertEquals(2, usage.exitCode());
        assertTrue(usage.err().contains("Unknown option: '--bogus'"), usage.err());

        DpnJar.Result noPrompt = run(currentJava(), "--image", "x.png");
        assertEquals(2, noPrompt.exitCode());
        assertTrue(noPrompt.err().contains("Missing required options: --image and --prompt"), noPrompt.err());
    }

    /** A small random model with the real tokenizer (runtime's API-test model): exercises every failure path. */
    @Test
    void badRequestsGiveOneLineNamingTheProblem(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        Files.createDirectories(model);
        for (Path from : List.of(Path.of("../runtime/src/test/resources/api-model"), Path.of("../tokenizer/assets"))) {
            try (var files = Files.list(from)) {
                for (Path f : files.toList()) {
                    Files.copy(f, model.resolve(f.getFileName()));
                }
            }
        }
        String image = "../world/examples/count_small.png";
        String m = model.toString();
        DpnJar.Result answer = run(currentJava(), request(m, image, "How many?"));
        assertEquals(0, answer.exitCode(), answer.err());
        DpnJar.Result f32Cache = run(currentJava(), request(m, image, "How many?", "--kv-cache", "f32"));
        assertEquals(answer.out(), f32Cache.out(), "F32 and the CPU's default F16 caches answer alike");
        DpnJar.Result inMemory = run(currentJava(), request(m, image, "How many?", "--no-mmap"));
        assertEquals(answer.out(), inMemory.out(), "weights copied into memory answer as mapped ones");
        DpnJar.Result badCache = run(currentJava(), request(m, image, "How many?", "--kv-cache", "q8"));
        assertEquals(2, badCache.exitCode());
        assertTrue(badCache.err().contains("unknown type 'q8'; f16 or f32"), badCache.err());

        assertOneLine(1, "dpn: --threads must be at least 1, got 0",
                run(currentJava(), request(m, image, "How many?", "--threads", "0")));
        assertOneLine(1, "dpn: unknown pooling 'sometimes'",
                run(currentJava(), request(m, image, "How many?", "--pooling", "sometimes")));
        assertOneLine(1, "dpn: no/such.png: no such file", run(currentJava(), request(m, "no/such.png", "How many?")));
        assertOneLine(1, "dpn: the prompt is 3", run(currentJava(), request(m, image, "why ".repeat(300))));
        DpnJar.Result notUtf8 = runShell(currentJava() + " -jar " + JAR + " " + String.join(" ", request(m, image, "x"))
                .replace("--prompt x", "--prompt \"$(printf 'bad \\xff bytes')\""));
        assertOneLine(1, "dpn: the prompt is not valid UTF-8 text", notUtf8);

        DpnJar.Result chat = runShell("printf 'How many?\\n/reset\\nAnd now?\\n/exit\\n' | " + currentJava() + " -jar " + JAR
                + " chat --model " + m + " --image " + image + " --max-tokens 2");
        assertEquals(0, chat.exitCode(), chat.err());
        assertEquals(4, chat.out().split("> ", -1).length - 1, "a prompt before each of the 4 lines: " + chat.out());

        Files.delete(model.resolve("model.safetensors"));
        assertOneLine(1, "dpn: " + model + ": holds neither model.safetensors nor model.safetensors.index.json",
                run(currentJava(), request(m, image, "How many?")));
    }

    private static String[] request(String model, String image, String prompt, String... more) {
        List<String> args = new ArrayList<>(List.of("--model", model, "--image", image, "--prompt", prompt,
                "--max-tokens", "2"));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }
}
