package dev.dpn.loader;

/** A configuration file that is not JSON or lacks what its reader needs; the message names the file and key. */
public final class ConfigException extends RuntimeException {

    ConfigException(String message) {
        super(message);
    }
}
