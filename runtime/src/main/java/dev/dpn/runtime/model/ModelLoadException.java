package dev.dpn.runtime.model;

/**
 * A model folder that cannot run: its weights do not match its config.json, or the config asks for something the
 * runtime does not do. The message names the file and the tensor or key.
 */
public final class ModelLoadException extends RuntimeException {

    ModelLoadException(String message) {
        super(message);
    }
}
