package dev.dpn.tests;

import static dev.dpn.tests.DpnJar.assertOneLine;
import static dev.dpn.tests.DpnJar.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code dpn quantize} through the built jar: a Q4_0 copy of the embedded model that answers, as the model quantized
 * on load ({@code --quantize}) does, and refusals.
 */
class QuantizeJarTest {
    @TempDir
    Path dir;

    @Test
    void aQ4CopyOfTheTinyModelAnswers() throws Exception {
        Path model = dir.resolve("q4");
        DpnJar.Result written = run("quantize", "--model", "../models/tiny-dpn-llava", "--out", model.toString(),
                "--type", "q4_0");
        assertEquals(0, written.exitCode(), written.err());
        assertTrue(written.out().startsWith("wrote " + model + ": 82 tensors as Q4_0, 79 kept as stored, "),
                written.out());
        assertTrue(Files.isRegularFile(model.resolve("tokenizer.json")));
        // Not a terminal here: the progress bar writes a line per refresh, none twice (it rendered the end twice).
        List<String> progress = written.err().lines().filter(l -> l.startsWith("quantize")).toList();
        assertTrue(progress.getLast().contains("100%"), written.err());
        for (int i = 1; i < progress.size(); i++) {
            assertNotEquals(progress.get(i - 1), progress.get(i), written.err());
        }

        DpnJar.Result answer = run("--model", model.toString(), "--image", "../world/eval/0009.png", "--prompt",
                "What color is the background?");
        assertEquals(0, answer.exitCode(), answer.err());
        assertEquals("green", answer.out().strip());

        DpnJar.Result onLoad = run("--model", "../models/tiny-dpn-llava", "--quantize", "q4_0", "--image",
                "../world/eval/0009.png", "--prompt", "What color is the background?");
        assertEquals(0, onLoad.exitCode(), onLoad.err());
        assertEquals("green", onLoad.out().strip());
    }

    @Test
    void badArgumentsAreRefusedInOneLine() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertOneLine(1, "dpn: " + empty + ": holds neither model.safetensors nor model.safetensors.index.json",
                run("quantize", "--model", empty.toString(), "--out", dir.resolve("out").toString(), "--type",
                        "q8_0"));
        assertTrue(Files.notExists(dir.resolve("out")), "no output folder for a failed run");

        DpnJar.Result type = run("quantize", "--model", empty.toString(), "--out", dir.resolve("x").toString(),
                "--type", "q5_0");
        assertEquals(2, type.exitCode());
        assertTrue(type.err().contains("unknown type 'q5_0'; q8_0 or q4_0"), type.err());
    }
}
