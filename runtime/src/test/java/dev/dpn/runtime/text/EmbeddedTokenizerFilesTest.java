package dev.dpn.runtime.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dpn.loader.tokenizer.TokenizerFiles;
import dev.dpn.loader.tokenizer.TokenizerJsonReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * dpn.jar embeds the tiny DPN model without its tokenizer.json (tokenizer.model loads in half the time), so the two
 * files must tokenize alike: checked on every question and answer of the held-out split, in the chat template.
 */
class EmbeddedTokenizerFilesTest {
    private static final Path MODEL = Path.of("../models/tiny-dpn-llava");

    @Test
    void sentencePieceModelAndTokenizerJsonAgreeOnTheEvalSplit(@TempDir Path withoutJson) throws IOException {
        for (String file : List.of("tokenizer.model", "tokenizer_config.json")) {
            Files.copy(MODEL.resolve(file), withoutJson.resolve(file));
        }
        Tokenizer json = Tokenizer.of(TokenizerJsonReader.read(MODEL.resolve("tokenizer.json")));
        Tokenizer model = Tokenizer.of(TokenizerFiles.read(withoutJson));
        assertEquals(json.vocabularySize(), model.vocabularySize());
        ObjectMapper mapper = new ObjectMapper();
        int checked = 0;
        for (String line : Files.readAllLines(Path.of("../world/eval/split.jsonl"))) {
            JsonNode example = mapper.readTree(line);
            for (String text : List.of(
                    "USER: <image>\n" + example.get("question").asText() + "<ROUTER> ASSISTANT:",
                    " " + example.get("answer").asText() + "</s>")) {
                assertArrayEquals(json.encode(text, true), model.encode(text, true), text);
                checked++;
            }
        }
        assertEquals(1400, checked);
    }
}
