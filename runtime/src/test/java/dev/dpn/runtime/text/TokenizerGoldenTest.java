package dev.dpn.runtime.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The goldens of {@code tokenizer/golden} (see its README): ids from SentencePiece for 10,684 texts, with added
 * tokens matched where the text has them, and SentencePiece's decoding of 422 id sequences.
 */
class TokenizerGoldenTest {
    private static final Path GOLDEN = Path.of("../tokenizer/golden");
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int SHOWN_FAILURES = 5;

    private record EncodeCase(String text, int[] ids, int[] addedIds, String decoded) {
    }

    private record DecodeCase(int[] ids, String text) {
    }

    private static List<EncodeCase> encodeCases;
    private static List<DecodeCase> decodeCases;

    @BeforeAll
    static void readGoldens() throws IOException {
        encodeCases = new ArrayList<>();
        // Split on "\n" only: the texts hold U+2028 and U+0085 raw, which readLine() would not split on anyway.
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(GOLDEN.resolve("encode.jsonl.gz"))), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                JsonNode record = MAPPER.readTree(line);
                int[] ids = ids(record.get("ids"));
                encodeCases.add(new EncodeCase(record.get("text").textValue(), ids,
                        record.has("added_ids") ? ids(record.get("added_ids")) : ids,
                        record.has("decoded") ? record.get("decoded").textValue() : record.get("text").textValue()));
            }
        }
        decodeCases = new ArrayList<>();
        for (String line : Files.readAllLines(GOLDEN.resolve("decode.jsonl"), StandardCharsets.UTF_8)) {
            JsonNode record = MAPPER.readTree(line);
            decodeCases.add(new DecodeCase(ids(record.get("ids")), record.get("sentencepiece").textValue()));
        }
        assertEquals(10684, encodeCases.size());
        assertEquals(422, decodeCases.size());
    }

    @ParameterizedTest
    @EnumSource(LlamaTokenizers.class)
    void encodesAsSentencePiece(LlamaTokenizers source) {
        Tokenizer tokenizer = source.get();
        assertAllMatch(encodeCases, c -> Arrays.toString(c.ids()),
                c -> Arrays.toString(tokenizer.encodeAsPlainText(c.text())), EncodeCase::text);
    }

    @ParameterizedTest
    @EnumSource(LlamaTokenizers.class)
    void encodesAddedTokensWhole(LlamaTokenizers source) {
        Tokenizer tokenizer = source.get();
        assertAllMatch(encodeCases, c -> Arrays.toString(c.addedIds()),
                c -> Arrays.toString(tokenizer.encode(c.text(), false)), EncodeCase::text);
    }

    @ParameterizedTest
    @EnumSource(LlamaTokenizers.class)
    void decodesEveryTextBack(LlamaTokenizers source) {
        Tokenizer tokenizer = source.get();
        assertAllMatch(encodeCases, EncodeCase::decoded, c -> tokenizer.decode(c.ids()), EncodeCase::text);
    }

    @ParameterizedTest
    @EnumSource(LlamaTokenizers.class)
    void decodesAsSentencePiece(LlamaTokenizers source) {
        Tokenizer tokenizer = source.get();
        assertAllMatch(decodeCases, DecodeCase::text, c -> tokenizer.decode(c.ids()), c -> Arrays.toString(c.ids()));
    }

    @ParameterizedTest
    @EnumSource(LlamaTokenizers.class)
    void streamsAsItDecodes(LlamaTokenizers source) {
        Tokenizer tokenizer = source.get();
        assertAllMatch(decodeCases, DecodeCase::text, c -> {
            StreamDecoder decoder = tokenizer.streamDecoder();
            StringBuilder text = new StringBuilder();
            for (int id : c.ids()) {
                text.append(decoder.next(id));
            }
            return text.append(decoder.finish()).toString();
        }, c -> Arrays.toString(c.ids()));
    }

    /** Checks every case, and reports how many failed with the first few, rather than stopping at the first. */
    private static <C> void assertAllMatch(List<C> cases, Function<C, String> expected, Function<C, String> actual,
                                           Function<C, String> name) {
        List<String> failures = new ArrayList<>();
        for (C c : cases) {
            String want = expected.apply(c);
            String got = actual.apply(c);
            if (!want.equals(got)) {
                failures.add(MAPPER.valueToTree(name.apply(c)) + ": expected " + MAPPER.valueToTree(want) + ", got "
                        + MAPPER.valueToTree(got));
            }
        }
        assertEquals(List.of(), failures.subList(0, Math.min(SHOWN_FAILURES, failures.size())),
                failures.size() + " of " + cases.size() + " cases differ");
    }

    private static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).intValue();
        }
        return ids;
    }
}
