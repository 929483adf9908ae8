package dev.dpn.runtime.image;

import java.util.Objects;

/** An 8-bit RGB image: row-major, three bytes (red, green, blue) per pixel, as PIL holds an "RGB" image. */
public final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] pixels;

    RgbImage(int width, int height, byte[] pixels) {
        if (width <= 0 || height <= 0 || pixels.length != 3L * width * height) {
            throw new IllegalArgumentException(
                    pixels.length + " bytes do not hold an RGB image of " + width + "×" + height + " pixels");
        }
        this.width = width;
        this.height = height;
        this.pixels = pixels;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** Channel {@code channel} (0 red, 1 green, 2 blue) of pixel (x, y), 0..255. */
    public int sample(int x, int y, int channel) {
        Objects.checkIndex(x, width);
        Objects.checkIndex(y, height);
        Objects.checkIndex(channel, 3);
        return Byte.toUnsignedInt(pixels[(y * width + x) * 3 + channel]);
    }

    /** The pixel bytes themselves, not a copy. */
    byte[] pixels() {
        return pixels;
    }
}
