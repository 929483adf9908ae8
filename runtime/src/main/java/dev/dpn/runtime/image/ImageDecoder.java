package dev.dpn.runtime.image;

import java.awt.image.BufferedImage;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;

/**
 * Reads an image file into 8-bit RGB as PIL's {@code Image.open(path).convert("RGB")} does (see
 * {@link RgbConversion} for the rules). PNG, JPEG (also CMYK and YCCK), BMP and GIF (its first frame) are read by
 * the JDK's ImageIO readers, WebP by the TwelveMonkeys plugin; the format is told from the content, not the file
 * name. Like PIL, this does not apply the EXIF orientation.
 */
public final class ImageDecoder {
    /** The longest side accepted. */
    public static final int MAX_SIDE = 16_384;
    /** The most pixels accepted: PIL's decompression-bomb threshold ({@code Image.MAX_IMAGE_PIXELS}). */
    public static final long MAX_PIXELS = 89_478_485;

    private ImageDecoder() {}

    /**
     * @throws ImageFileException if the file is missing or unreadable, not an image in a known format, corrupt,
     *     empty, or larger than {@link #MAX_SIDE} per side or {@link #MAX_PIXELS} in all
     */
    public static RgbImage decode(Path file) {
        if (!Files.exists(file)) {
            throw new ImageFileException(file, "no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new ImageFileException(file, "not a regular file");
        }
        try (ImageInputStream input = new FileImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(input);
            if (!readers.hasNext()) {
                throw new ImageFileException(file, "not an image in a format dpn reads (PNG, JPEG, BMP, GIF, WebP)");
            }
            ImageReader reader = readers.next();
            try {
                return read(file, reader, input);
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new ImageFileException(file, "cannot be read (" + reasons(e) + ")");
        }
    }

    private static RgbImage read(Path file, ImageReader reader, ImageInputStream input) {
        String format = reader.getOriginatingProvider().getFormatNames()[0].toUpperCase(Locale.ROOT);
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
        BufferedImage image;
        try {
            reader.setInput(input, true, true);
            checkSize(file, reader.getWidth(0), reader.getHeight(0));
            image = reader.read(0, storedSamples(reader));
        } catch (ImageFileException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // Decoders also fail on corrupt data with unchecked exceptions (index out of bounds and the like).
            throw new ImageFileException(file, "corrupt or unsupported " + format + " image (" + reasons(e) + ")");
        }
        // The JPEG reader fills in a truncated file and only warns; PIL refuses it ("image file is truncated").
        for (String warning : warnings) {
            if (warning.toLowerCase(Locale.ROOT).contains("truncated")) {
                throw new ImageFileException(file, "truncated " + format + " image (" + warning + ")");
            }
        }
        try {
            return RgbConversion.toRgb(image);
        } catch (IllegalArgumentException e) {
            throw new ImageFileException(file, "unsupported " + format + " pixel layout: " + e.getMessage());
        }
    }

    private static void checkSize(Path file, int width, int height) {
        String size = width + "×" + height + " pixels";
        if (width <= 0 || height <= 0) {
            throw new ImageFileException(file, "empty image (" + size + ")");
        }
        if (Math.max(width, height) > MAX_SIDE) {
            throw new ImageFileException(file, "image of " + size + " is larger than " + MAX_SIDE + " pixels a side");
        }
        if ((long) width * height > MAX_PIXELS) {
            throw new ImageFileException(file, "image of " + size + " has more than " + MAX_PIXELS
                    + " pixels (a decompression bomb?)");
        }
    }

    /**
     * Read parameters that ask for the samples as stored, when the reader can say what that is: by default the
     * WebP plugin converts images with an embedded ICC profile to sRGB, and PIL does not.
     */
    private static ImageReadParam storedSamples(ImageReader reader) throws IOException {
        ImageReadParam param = reader.getDefaultReadParam();
        ImageTypeSpecifier raw = reader.getRawImageType(0);
        if (raw != null) {
            param.setDestinationType(raw);
        }
        return param;
    }

    /** The distinct messages along a chain of causes: decoders wrap the telling one ("unexpected end of ..."). */
    private static String reasons(Throwable error) {
        Set<String> messages = new LinkedHashSet<>();
        for (Throwable e = error; e != null; e = e.getCause()) {
            if (e.getMessage() != null) {
                messages.add(e.getMessage());
            } else {
                messages.add(e instanceof EOFException ? "unexpected end of file" : e.getClass().getSimpleName());
            }
        }
        return String.join(": ", messages);
    }
}
