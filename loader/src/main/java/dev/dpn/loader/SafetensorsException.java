package dev.dpn.loader;

import java.nio.file.Path;

/**
 * A safetensors file or checkpoint that breaks the format, or a writer asked to break it. The message names the
 * file, the tensor when there is one, and the reason.
 */
public final class SafetensorsException extends RuntimeException {

    SafetensorsException(Path file, String reason) {
        super(file + ": " + reason);
    }

    SafetensorsException(Path file, String tensor, String reason) {
        super(file + ": tensor \"" + tensor + "\" " + reason);
    }
}
