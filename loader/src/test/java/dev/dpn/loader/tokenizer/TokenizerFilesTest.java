package dev.dpn.loader.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerFilesTest {
    private static final List<AddedToken> LLAVA_HF_ADDED_TOKENS = List.of(new AddedToken(0, "<unk>", true),
            new AddedToken(1, "<s>", true), new AddedToken(2, "</s>", true), new AddedToken(32000, "<image>", true),
            new AddedToken(32001, "<pad>", true), new AddedToken(32002, "<ROUTER>", true));

    @TempDir
    Path dir;

    @Test
    void prefersTokenizerJson() throws IOException {
        TokenizerSpec spec = TokenizerFiles.read(TinyTokenizers.ASSETS);
        assertInstanceOf(MergeOrder.Ranked.class, spec.mergeOrder());
        assertEquals(LLAVA_HF_ADDED_TOKENS, spec.addedTokens());
    }

    @Test
    void modelWithTheAddedTokensOfTheConfig() throws IOException {
        copy("tokenizer.model", "tokenizer_config.json");
        TokenizerSpec spec = TokenizerFiles.read(dir);
        assertInstanceOf(MergeOrder.Scored.class, spec.mergeOrder());
        assertEquals(LLAVA_HF_ADDED_TOKENS, spec.addedTokens());
    }

    @Test
    void modelWithAddedTokensJson() throws IOException {
        // The original LLaVA layout: 32000 pieces, and <ROUTER> the first added id.
        copy("tokenizer.model");
        Files.writeString(dir.resolve("added_tokens.json"), "{\"<ROUTER>\": 32000}");
        assertEquals(List.of(new AddedToken(32000, "<ROUTER>", false)), TokenizerFiles.read(dir).addedTokens());
    }

    @Test
    void addedTokensListedInBothFilesCountOnce() throws IOException {
        copy("tokenizer.model", "tokenizer_config.json");
        Files.writeString(dir.resolve("added_tokens.json"), "{\"<image>\": 32000, \"<pad>\": 32001}");
        assertEquals(LLAVA_HF_ADDED_TOKENS, TokenizerFiles.read(dir).addedTokens());
    }

    @Test
    void filesDisagreeOnAnId() throws IOException {
        copy("tokenizer.model", "tokenizer_config.json");
        Files.writeString(dir.resolve("added_tokens.json"), "{\"<ROUTER>\": 32005}");
        TokenizerFileException e = assertThrows(TokenizerFileException.class, () -> TokenizerFiles.read(dir));
        assertEquals(dir + ": added token \"<ROUTER>\" has two ids, 32002 and 32005", e.getMessage());
    }

    @Test
    void configWithAMalformedAddedToken() throws IOException {
        copy("tokenizer.model");
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"added_tokens_decoder\": {\"x\": {\"content\": \"<image>\"}}}");
        TokenizerFileException e = assertThrows(TokenizerFileException.class, () -> TokenizerFiles.read(dir));
        assertTrue(e.getMessage().endsWith("tokenizer_config.json: added_tokens_decoder[\"x\"]: the key is not a "
                + "token id"), e.getMessage());
    }

    @Test
    void addedTokensJsonWithAFractionalId() throws IOException {
        copy("tokenizer.model");
        Files.writeString(dir.resolve("added_tokens.json"), "{\"<ROUTER>\": 32000.5}");
        TokenizerFileException e = assertThrows(TokenizerFileException.class, () -> TokenizerFiles.read(dir));
        assertEquals(dir.resolve("added_tokens.json") + ": \"<ROUTER>\" has id 32000.5, not a token id",
                e.getMessage());
    }

    @Test
    void noTokenizer() {
        TokenizerFileException e = assertThrows(TokenizerFileException.class, () -> TokenizerFiles.read(dir));
        assertEquals(dir + ": has neither tokenizer.json nor tokenizer.model", e.getMessage());
    }

    private void copy(String... names) throws IOException {
        for (String name : names) {
            Files.copy(TinyTokenizers.ASSETS.resolve(name), dir.resolve(name));
        }
    }
}
