package dev.dpn.tests;

import static dev.dpn.tests.DpnJar.assertOneLine;
import static dev.dpn.tests.DpnJar.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code dpn random-model} through the built jar: a folder the main command runs, and one-line refusals. */
class RandomModelJarTest {
    private static final String TOKENIZER = "../tokenizer/assets";

    @TempDir
    Path dir;

    @Test
    void aTinyRandomModelInShardsAnswersWithRouting() throws Exception {
        Path model = dir.resolve("tiny");
        DpnJar.Result written = run("random-model", "--shape", "tiny", "--out", model.toString(), "--seed", "5",
                "--shard-size", "3MB", "--tokenizer", TOKENIZER);
        assertEquals(0, written.exitCode(), written.err());
        assertTrue(written.out().startsWith("wrote " + model + ": tiny shape, 110 tensors"), written.out());
        try (Stream<Path> files = Files.list(model)) {
            List<String> names = files.map(f -> f.getFileName().toString()).sorted().toList();
            // 3 MB shards: the embedding table and the LM head (4.1 MB each) have one each.
            assertEquals(List.of("config.json", "generation_config.json", "model-00001-of-00004.safetensors",
                    "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors",
                    "model-00004-of-00004.safetensors", "model.safetensors.index.json", "tokenizer.json",
                    "tokenizer.model", "tokenizer_config.json"), names);
        }

        DpnJar.Result answer = run("--model", model.toString(), "--image", "../world/examples/count_small.png",
                "--prompt", "How many?", "--max-tokens", "2", "--stats");
        assertEquals(0, answer.exitCode(), answer.err());
        assertTrue(answer.out().lines().anyMatch(l -> l.matches("DPE layer 0 +expert \\d .*8x8 -> .*")),
                answer.out());
    }

    @Test
    void the7bConfigAloneHasTheFullShape() throws Exception {
        Path model = dir.resolve("7b");
        DpnJar.Result r = run("random-model", "--shape", "7b", "--config-only", "--out", model.toString(), "--tokenizer",
                TOKENIZER);
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("wrote " + model + ": the config of the 7b shape, 698 tensors, 7,076,043,776 parameters, "
                + "13.2 GiB F16 (no weights)", r.out().strip());
        try (Stream<Path> files = Files.list(model)) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(".safetensors")));
        }
        assertTrue(Files.readString(model.resolve("config.json")).contains("\"index\": 23"));
    }

    @Test
    void badArgumentsAreRefusedInOneLine() throws Exception {
        Path taken = Files.createDirectories(dir.resolve("taken"));
        Files.writeString(taken.resolve("notes.txt"), "mine");
        assertOneLine(1, "dpn: --out " + taken + " is not empty; give a new or empty folder",
                run("random-model", "--shape", "tiny", "--out", taken.toString()));
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertOneLine(1, "dpn: --tokenizer " + empty + " holds neither tokenizer.json nor tokenizer.model",
                run("random-model", "--shape", "tiny", "--out", dir.resolve("m").toString(), "--tokenizer",
                        empty.toString()));

        DpnJar.Result shape = run("random-model", "--shape", "70b", "--out", dir.resolve("x").toString());
        assertEquals(2, shape.exitCode());
        assertTrue(shape.err().contains("unknown shape '70b'; one of tiny, 7b, 13b"), shape.err());
        DpnJar.Result size = run("random-model", "--shape", "tiny", "--shard-size", "5XB", "--out", dir.toString());
        assertEquals(2, size.exitCode());
        assertTrue(size.err().contains("'5XB' is not a size such as 5GB, 500MB or 2GiB"), size.err());
    }
}
