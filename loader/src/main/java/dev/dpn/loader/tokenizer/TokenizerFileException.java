package dev.dpn.loader.tokenizer;

import java.nio.file.Path;

/** A tokenizer file that is malformed or asks for something the runtime's tokenizer does not do. */
public final class TokenizerFileException extends RuntimeException {

    TokenizerFileException(Path file, String reason) {
        super(file + ": " + reason);
    }
}
