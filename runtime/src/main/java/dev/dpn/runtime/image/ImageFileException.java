package dev.dpn.runtime.image;

import java.nio.file.Path;

/** An image file that cannot become pixels: missing, unreadable, corrupt, of an unknown format, empty or too big. */
public final class ImageFileException extends RuntimeException {

    ImageFileException(Path file, String reason) {
        super(file + ": " + reason);
    }
}
