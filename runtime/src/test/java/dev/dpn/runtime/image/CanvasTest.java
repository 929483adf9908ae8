package dev.dpn.runtime.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CanvasTest {
    private static final int[] PAD = {122, 116, 104};

    /** A 1-pixel-wide column of distinct colours, or its transpose. */
    private static RgbImage line(int length, boolean vertical) {
        byte[] pixels = new byte[length * 3];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i + 1);
        }
        return vertical ? new RgbImage(1, length, pixels) : new RgbImage(length, 1, pixels);
    }

    @Test
    void widePicturePastedAtFloorOfHalfTheSpareRows() {
        RgbImage image = new RgbImage(4, 2, new byte[4 * 2 * 3]);
        Canvas square = Canvas.centredSquare(image, PAD);
        assertEquals(4, square.width());
        assertEquals(4, square.height());
        byte[] row = new byte[4 * 3];
        square.copyRow(0, row);
        assertArrayEquals(repeat(PAD, 4), row);
        square.copyRow(1, row);
        assertArrayEquals(new byte[12], row);
        square.copyRow(2, row);
        assertArrayEquals(new byte[12], row);
        square.copyRow(3, row);
        assertArrayEquals(repeat(PAD, 4), row);
    }

    @Test
    void tallPictureWithAnOddMarginGetsTheSmallerHalfOnTheLeft() {
        Canvas square = Canvas.centredSquare(line(4, true), PAD);
        byte[] row = new byte[4 * 3];
        square.copyRow(2, row);
        // (4 − 1) // 2 = 1 pad pixel on the left, 2 on the right; row 2 of the line holds bytes 7, 8, 9.
        assertArrayEquals(new byte[] {122, 116, 104, 7, 8, 9, 122, 116, 104, 122, 116, 104}, row);
    }

    @Test
    void plainCanvasIsTheImage() {
        RgbImage image = line(3, false);
        Canvas canvas = Canvas.of(image);
        byte[] row = new byte[9];
        canvas.copyRow(0, row);
        assertArrayEquals(image.pixels(), row);
    }

    private static byte[] repeat(int[] colour, int times) {
        byte[] bytes = new byte[colour.length * times];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) colour[i % colour.length];
        }
        return bytes;
    }
}
