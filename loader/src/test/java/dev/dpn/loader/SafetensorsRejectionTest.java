package dev.dpn.loader;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every malformed file is rejected on open, with a message that names the file, the tensor and the reason. */
class SafetensorsRejectionTest {
    @TempDir
    Path dir;

    @Test
    void fileShorterThanTheHeaderLength() throws IOException {
        Path file = dir.resolve("short.safetensors");
        java.nio.file.Files.write(file, new byte[] {1, 0, 0, 0, 0});
        assertRejected(file, "5 bytes", "too short");
    }

    @Test
    void headerLengthZero() throws IOException {
        assertRejected(CraftedFiles.write(dir.resolve("zero.safetensors"), 0, new byte[16]), "header length of 0");
    }

    @Test
    void headerLongerThanTheFile() throws IOException {
        Path file = CraftedFiles.write(dir.resolve("long.safetensors"), 100, "{}".getBytes());
        assertRejected(file, "header length of 100", "10-byte file");
    }

    @Test
    void headerOverTheSizeLimit() throws IOException {
        Path file = CraftedFiles.write(dir.resolve("huge.safetensors"), SafetensorsHeader.MAX_HEADER_BYTES + 1,
                "{}".getBytes());
        assertRejected(file, "header length of " + (SafetensorsHeader.MAX_HEADER_BYTES + 1), "over the limit");
    }

    @Test
    void headerLengthBeyondTheSignedRange() throws IOException {
        Path file = CraftedFiles.write(dir.resolve("negative.safetensors"), -1, "{}".getBytes());
        assertRejected(file, "header length of 18446744073709551615", "over the limit");
    }

    @Test
    void headerNotUtf8() throws IOException {
        byte[] header = {'{', '"', 'w', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        Path file = CraftedFiles.write(dir.resolve("latin.safetensors"), header.length, header);
        assertRejected(file, "not valid UTF-8");
    }

    static Stream<Arguments> malformedHeaders() {
        String w = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        return Stream.of(
                Arguments.of("invalid JSON", "{" + w, new String[] {"malformed JSON header", "line 1"}),
                Arguments.of("content after the object", "{" + w + "} {}", new String[] {"malformed JSON header"}),
                Arguments.of("not an object", "[1, 2]", new String[] {"header of [1,2], not a JSON object"}),
                Arguments.of("entry not an object", "{\"w\":5}", new String[] {"\"w\" is 5, not an object"}),
                Arguments.of("no dtype", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}",
                        new String[] {"\"w\" has no dtype"}),
                Arguments.of("no shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}",
                        new String[] {"\"w\" has no shape"}),
                Arguments.of("no data_offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}",
                        new String[] {"\"w\" has no data_offsets"}),
                Arguments.of("dtype not a string", "{\"w\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}",
                        new String[] {"\"w\" has dtype 4, not a string"}),
                Arguments.of("shape not an array",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}",
                        new String[] {"\"w\" has shape \"2\", not an array of non-negative integers"}),
                Arguments.of("shape of fractions",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}",
                        new String[] {"\"w\" has shape [2.0], not an array"}),
                Arguments.of("data_offsets not a pair",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}",
                        new String[] {"\"w\" has data_offsets [0,8,16], not [begin, end]"}),
                Arguments.of("negative data_offsets",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}",
                        new String[] {"\"w\" has data_offsets [-8,0], not an array of non-negative"}),
                Arguments.of("unknown dtype", "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}",
                        new String[] {"\"w\" has unknown dtype \"F8_E4M3\""}),
                Arguments.of("negative shape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
                        new String[] {"\"w\" has shape [-2], not an array of non-negative integers"}),
                Arguments.of("overflowing shape",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}",
                        new String[] {"\"w\" has an impossible F32 shape [4294967296, 4294967296]"}),
                Arguments.of("byte size not shape times dtype size",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                        new String[] {"\"w\" has data_offsets [0, 8] spanning 8 bytes, but F32 [3] takes 12"}),
                Arguments.of("offsets that end before they begin",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,8]}}",
                        new String[] {"\"w\" has data_offsets [16, 8] that end before they begin"}),
                Arguments.of("offsets beyond the data (truncated file)",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}",
                        new String[] {"\"w\" has data_offsets [0, 32] beyond the 16-byte data area", "truncated"}),
                Arguments.of("overlapping tensors",
                        "{" + w + ",\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                        new String[] {"\"v\" overlaps tensor \"w\": data_offsets [4, 12] and [0, 8]"}),
                Arguments.of("duplicate tensor names", "{" + w + "," + w + "}",
                        new String[] {"malformed JSON header", "Duplicate field 'w'"}),
                Arguments.of("__metadata__ not an object", "{\"__metadata__\":[\"pt\"]," + w + "}",
                        new String[] {"__metadata__ [\"pt\"], not an object"}),
                Arguments.of("__metadata__ value not a string", "{\"__metadata__\":{\"epoch\":3}," + w + "}",
                        new String[] {"__metadata__ \"epoch\": 3, not a string"}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedHeaders")
    void malformedHeader(String label, String header, String[] reasons) throws IOException {
        assertRejected(CraftedFiles.write(dir.resolve("bad.safetensors"), header, new byte[16]), reasons);
    }

    private static void assertRejected(Path file, String... reasons) {
        var e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file).close());
        String message = e.getMessage();
        assertTrue(message.startsWith(file + ": "), () -> "does not name the file: " + message);
        for (String reason : reasons) {
            assertTrue(message.contains(reason), () -> "\"" + message + "\" does not say " + reason);
        }
    }
}
