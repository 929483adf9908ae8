package dev.dpn.loader.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds and reads the tokenizer of a checkpoint directory. A {@code tokenizer.json} describes everything and is
 * preferred; otherwise the {@code tokenizer.model} is read, with the added tokens of {@code tokenizer_config.json}
 * and {@code added_tokens.json} where those exist.
 */
public final class TokenizerFiles {
    static final String TOKENIZER_JSON = "tokenizer.json";
    static final String TOKENIZER_MODEL = "tokenizer.model";
    static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    static final String ADDED_TOKENS = "added_tokens.json";

    private TokenizerFiles() {
    }

    /**
     * Reads the tokenizer in {@code directory}.
     *
     * @throws TokenizerFileException if there is none, or its files are malformed or disagree
     * @throws IOException if a file cannot be read
     */
    public static TokenizerSpec read(Path directory) throws IOException {
        Path json = directory.resolve(TOKENIZER_JSON);
        if (Files.isRegularFile(json)) {
            return TokenizerJsonReader.read(json);
        }
        Path model = directory.resolve(TOKENIZER_MODEL);
        if (!Files.isRegularFile(model)) {
            throw new TokenizerFileException(directory, "has neither " + TOKENIZER_JSON + " nor " + TOKENIZER_MODEL);
        }
        TokenizerSpec spec = SentencePieceModelReader.read(model);
        List<AddedToken> added = new ArrayList<>();
        Path config = directory.resolve(TOKENIZER_CONFIG);
        if (Files.isRegularFile(config)) {
            added.addAll(AddedTokensReader.readTokenizerConfig(config));
        }
        Path addedTokens = directory.resolve(ADDED_TOKENS);
        if (Files.isRegularFile(addedTokens)) {
            // Both files list the same tokens when a tokenizer was saved by several transformers versions.
            for (AddedToken token : AddedTokensReader.readAddedTokensJson(addedTokens)) {
                if (added.stream().noneMatch(known -> known.id() == token.id()
                        && known.content().equals(token.content()))) {
                    added.add(token);
                }
            }
        }
        return spec.withAddedTokens(AddedTokensReader.checkUnique(directory, added));
    }
}
