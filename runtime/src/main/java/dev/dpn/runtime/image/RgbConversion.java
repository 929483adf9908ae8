package dev.dpn.runtime.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;

/**
 * A decoded image's stored samples as 8-bit RGB, by the rules of PIL's {@code Image.open(f).convert("RGB")}, which
 * is what LLaVA's preprocessing (and so the model's training) saw. PIL does no colour management, so neither does
 * this: embedded ICC profiles, gamma and transparency are ignored and the samples taken as they are.
 * <ul>
 *   <li>alpha is dropped, not blended: a fully transparent pixel keeps the colour stored under it;</li>
 *   <li>palette images take their palette colour (the transparent index too);</li>
 *   <li>gray becomes (v, v, v);</li>
 *   <li>16-bit colour and gray-with-alpha samples keep their high byte, but 16-bit gray alone opens in PIL's 32-bit
 *       mode "I", whose conversion <em>clips</em> at 255: values above 255 turn white;</li>
 *   <li>narrower fields scale as {@code v · 255 / max}, rounded down (PIL's 5- and 6-bit BMP unpacking);</li>
 *   <li>CMYK becomes ((255 − k) − c·(255 − k)/255, ...), PIL's naive formula, not an ICC conversion.</li>
 * </ul>
 */
final class RgbConversion {
    private RgbConversion() {}

    /**
     * @throws IllegalArgumentException if the image's colour space is neither gray, RGB, CMYK nor a palette, or
     *     its samples are wider than 16 bits
     */
    static RgbImage toRgb(BufferedImage image) {
        ColorModel model = image.getColorModel();
        Raster raster = image.getRaster();
        int width = raster.getWidth();
        int height = raster.getHeight();
        int bands = raster.getNumBands();
        byte[] rgb = new byte[Math.multiplyExact(3 * width, height)];
        int[] row = new int[width * bands];
        PixelRule rule = ruleFor(model);
        for (int y = 0; y < height; y++) {
            raster.getPixels(0, y, width, 1, row);
            for (int x = 0; x < width; x++) {
                rule.convert(row, x * bands, rgb, (y * width + x) * 3);
            }
        }
        return new RgbImage(width, height, rgb);
    }

    /** How one pixel's samples (from {@code in[at]}) become three bytes (at {@code out[to]}). */
    private interface PixelRule {
        void convert(int[] in, int at, byte[] out, int to);
    }

    private static PixelRule ruleFor(ColorModel model) {
        if (model instanceof IndexColorModel palette) {
            return (in, at, out, to) -> {
                out[to] = (byte) palette.getRed(in[at]);
                out[to + 1] = (byte) palette.getGreen(in[at]);
                out[to + 2] = (byte) palette.getBlue(in[at]);
            };
        }
        ColorSpace space = model.getColorSpace();
        int bits = model.getComponentSize(0);
        for (int size : model.getComponentSize()) {
            if (size > 16) {
                throw new IllegalArgumentException(size + "-bit samples are not supported");
            }
        }
        return switch (space.getType()) {
            case ColorSpace.TYPE_GRAY -> {
                boolean clips = bits == 16 && !model.hasAlpha();
                yield (in, at, out, to) -> {
                    byte v = clips ? (byte) Math.min(in[at], 255) : toByte(in[at], bits);
                    out[to] = v;
                    out[to + 1] = v;
                    out[to + 2] = v;
                };
            }
            case ColorSpace.TYPE_RGB -> {
                int[] sizes = model.getComponentSize();
                yield (in, at, out, to) -> {
                    out[to] = toByte(in[at], sizes[0]);
                    out[to + 1] = toByte(in[at + 1], sizes[1]);
                    out[to + 2] = toByte(in[at + 2], sizes[2]);
                };
            }
            case ColorSpace.TYPE_CMYK -> {
                if (bits != 8) {
                    throw new IllegalArgumentException(bits + "-bit CMYK is not supported");
                }
                yield (in, at, out, to) -> {
                    int notBlack = 255 - in[at + 3];
                    out[to] = (byte) (notBlack - mulDiv255(in[at], notBlack));
                    out[to + 1] = (byte) (notBlack - mulDiv255(in[at + 1], notBlack));
                    out[to + 2] = (byte) (notBlack - mulDiv255(in[at + 2], notBlack));
                };
            }
            default -> throw new IllegalArgumentException(
                    "colour space of type " + space.getType() + " with " + model.getNumComponents()
                            + " components is not supported");
        };
    }

    /** A {@code bits}-wide sample as 8 bits: PIL keeps the high byte of 16-bit samples and scales narrower ones. */
    private static byte toByte(int sample, int bits) {
        return switch (bits) {
            case 8 -> (byte) sample;
            case 16 -> (byte) (sample >> 8);
            default -> (byte) (sample * 255 / ((1 << bits) - 1));
        };
    }

    /** a·b/255 rounded, in PIL's integer form ({@code MULDIV255}). */
    private static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }
}
