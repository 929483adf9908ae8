package dev.dpn.runtime.text;

import dev.dpn.loader.tokenizer.AddedTokensReader;
import dev.dpn.loader.tokenizer.SentencePieceModelReader;
import dev.dpn.loader.tokenizer.TokenizerJsonReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Llama-2's tokenizer, with llava-hf's added tokens and our {@code <ROUTER>}, read from either file format. */
enum LlamaTokenizers {
    TOKENIZER_JSON, TOKENIZER_MODEL;

    static final Path ASSETS = Path.of("../tokenizer/assets");
    private Tokenizer tokenizer;

    /** Read once per test run: the test classes share them. */
    synchronized Tokenizer get() {
        if (tokenizer == null) {
            try {
                tokenizer = Tokenizer.of(switch (this) {
                    case TOKENIZER_JSON -> TokenizerJsonReader.read(ASSETS.resolve("tokenizer.json"));
                    case TOKENIZER_MODEL -> SentencePieceModelReader.read(ASSETS.resolve("tokenizer.model"))
                            .withAddedTokens(AddedTokensReader.readTokenizerConfig(
                                    ASSETS.resolve("tokenizer_config.json")));
                });
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return tokenizer;
    }
}
