package dev.dpn.tests;

import static dev.dpn.tests.DpnJar.assertOneLine;
import static dev.dpn.tests.DpnJar.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code dpn bench} and {@code dpn gguf} through the built jar, on the embedded-size tiny models. */
class BenchJarTest {
    @TempDir
    Path dir;

    @Test
    void benchMeasuresEveryStageUnderASmallHeapAndWritesJson() throws Exception {
        Path json = dir.resolve("bench.json");
        DpnJar.Result r = run(DpnJar.currentJava(), List.of("-Xmx256m"), "bench", "--model",
                "../models/tiny-dpn-llava", "--threads", "1", "--runs", "1", "--decode-tokens", "2", "--no-mmap",
                "--json", json.toString());
        assertEquals(0, r.exitCode(), r.err());
        // The launcher hands -Xmx to the JVM it starts.
        String header = r.out().lines().findFirst().orElseThrow();
        assertTrue(header.endsWith("max heap 256.0 MiB") && header.contains("F16 weights in memory"), r.out());
        for (String row : List.of("model open", "vision tower", "projector", "LLM prefill", "TTFT none",
                "TTFT static x2 (1x2)", "TTFT static x4 (2x2)", "TTFT adaptive", "decode (2 tokens)",
                "decode bytes read", "peak RSS (VmHWM)", "peak heap", "memory read loop")) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(row + " ")), row + " missing in\n" + r.out());
        }

        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals(4, report.get("ttft").size());
        for (JsonNode ttft : report.get("ttft")) {
            assertTrue(ttft.get("error").isNull(), ttft.toString());
            assertTrue(ttft.get("seconds").get("median").asDouble() > 0, ttft.toString());
        }
        JsonNode none = report.get("ttft").get(0);
        JsonNode x4 = report.get("ttft").get(2);
        assertTrue(x4.get("llmPrefillGflop").asDouble() < none.get("llmPrefillGflop").asDouble(), report.toString());
        assertTrue(report.get("decodeTokensPerSecond").get("median").asDouble() > 0);
        assertTrue(report.get("decodeGBps").get("median").asDouble() > 0);
        assertTrue(report.get("decodeCacheBytesPerToken").asDouble() > 0);
        assertTrue(report.get("decodeToReadLoop").get("median").asDouble() > 0);
        // The read loop's 1 GiB buffer, timed after the decode run, is left out of the model's peak RSS.
        long peakRss = report.get("peakRssBytes").asLong();
        assertTrue(peakRss > report.get("peakHeapBytes").asLong() && peakRss < 1L << 30, "peak RSS " + peakRss);
        assertEquals(256L << 20, report.get("maxHeapBytes").asLong());
        assertTrue(report.get("weightsInMemory").asBoolean());
        assertTrue(report.get("baselines").get("readBandwidthGBps").get("median").asDouble() > 0);
        assertNotNull(report.get("visionTowerMs").get("median"));
    }

    @Test
    void eachDecodeRunIsComparedWithAReadOfTheMappedWeightsRightAfterIt() throws Exception {
        Path json = dir.resolve("bench.json");
        DpnJar.Result r = run("bench", "--model", "../models/tiny-dpn-llava", "--threads", "1", "--runs", "2",
                "--decode-tokens", "2", "--json", json.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals("memory read loop, mapped weights", report.get("baselines").get("read").asText());
        assertTrue(report.get("baselines").get("readBandwidthGBps").get("median").asDouble() > 0);
        JsonNode ratio = report.get("decodeToReadLoop");
        assertEquals(2, ratio.get("runs").asInt(), ratio.toString());
        assertTrue(ratio.get("min").asDouble() > 0, ratio.toString());
    }

    @Test
    void ggufWritesTheDecoderOfAModelFolder() throws Exception {
        Path gguf = dir.resolve("tiny.gguf");
        DpnJar.Result r = run("gguf", "--model", "../models/tiny-llava", "--out", gguf.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().startsWith("wrote " + gguf + ": 74 tensors, 18.5 MiB of F16 weights, vocabulary 32003"),
                r.out());
        ByteBuffer header = ByteBuffer.wrap(Files.readAllBytes(gguf)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x46554747, header.getInt(), "magic GGUF");
        assertEquals(3, header.getInt(), "version");
        assertEquals(74, header.getLong(), "tensors");
    }

    @Test
    void badModelFoldersAreRefusedInOneLine() throws Exception {
        assertOneLine(1, "dpn: " + dir + " is not a model folder", run("bench", "--model", dir.toString()));
        assertOneLine(1, "dpn: " + dir + " is not a model folder", run("gguf", "--model", dir.toString(), "--out",
                dir.resolve("x.gguf").toString()));
    }
}
