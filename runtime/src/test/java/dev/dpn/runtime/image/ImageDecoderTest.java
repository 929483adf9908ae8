package dev.dpn.runtime.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.loader.SafetensorsCheckpoint;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ImageDecoderTest {
    private static SafetensorsCheckpoint goldens;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        goldens = Fixtures.goldens();
    }

    @AfterAll
    static void close() {
        goldens.close();
    }

    /** Goldens "decoded/FILE": PIL's Image.open(FILE).convert("RGB"), for every format and pixel layout. */
    static Stream<String> exactlyDecoded() {
        return goldens.names().stream().filter(name -> name.startsWith("decoded/") && !name.endsWith("lossy.webp"));
    }

    @ParameterizedTest
    @MethodSource("exactlyDecoded")
    void decodesToThePixelsPilGives(String name) {
        RgbImage image = ImageDecoder.decode(Fixtures.image(name.substring("decoded/".length())));
        // Lossless formats, and JPEG because the JDK's libjpeg and PIL's decode these files identically.
        assertEquals(0, Fixtures.maxDifference(Fixtures.rgb(goldens.tensor(name)), image), name);
    }

    @Test
    void lossyWebPIsCloseToPil() {
        RgbImage expected = Fixtures.rgb(goldens.tensor("decoded/lossy.webp"));
        RgbImage image = ImageDecoder.decode(Fixtures.image("lossy.webp"));
        long total = 0;
        for (int i = 0; i < expected.pixels().length; i++) {
            total += Math.abs((expected.pixels()[i] & 0xFF) - (image.pixels()[i] & 0xFF));
        }
        double mean = total / (double) expected.pixels().length;
        // The plugin upsamples chroma by repetition, libwebp (PIL) bilinearly: colour edges differ by up to 81 here,
        // 4.1 on average; libwebp's own -nofancy output is within 4 of ours. A wrong decode is off by tens.
        assertTrue(mean < 6, "mean difference " + mean);
    }

    @Test
    void alphaIsDroppedNotBlended() throws IOException {
        BufferedImage argb = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(0, 0, 0x00C86432);
        argb.setRGB(1, 0, 0x80C86432);
        Path file = dir.resolve("alpha.png");
        ImageIO.write(argb, "png", file.toFile());
        RgbImage image = ImageDecoder.decode(file);
        for (int x = 0; x < 2; x++) {
            assertEquals(200, image.sample(x, 0, 0));
            assertEquals(100, image.sample(x, 0, 1));
            assertEquals(50, image.sample(x, 0, 2));
        }
    }

    @Test
    void sixteenBitGrayClipsAt255AsPilDoes() {
        // The fixture holds 3 · (20y + x).
        RgbImage image = ImageDecoder.decode(Fixtures.image("gray16-20x12.png"));
        assertEquals(150, image.sample(10, 2, 0));
        assertEquals(150, image.sample(10, 2, 2));
        assertEquals(255, image.sample(0, 5, 1));
    }

    @Test
    void tellsTheFormatFromTheContentNotTheName() throws IOException {
        Path misnamed = dir.resolve("photo.png");
        Files.copy(Fixtures.image("photo.jpg"), misnamed);
        assertEquals(0, Fixtures.maxDifference(Fixtures.rgb(goldens.tensor("decoded/photo.jpg")),
                ImageDecoder.decode(misnamed)));
    }

    @Test
    void missingFile() {
        assertRejected(dir.resolve("absent.png"), "no such file");
    }

    @Test
    void directory() {
        assertRejected(dir, "not a regular file");
    }

    @Test
    void emptyFile() throws IOException {
        assertRejected(Files.write(dir.resolve("empty.png"), new byte[0]), "not an image in a format dpn reads");
    }

    @Test
    void textFile() throws IOException {
        assertRejected(Files.writeString(dir.resolve("notes.jpg"), "not an image\n"),
                "not an image in a format dpn reads");
    }

    @Test
    void truncatedPng() throws IOException {
        byte[] png = Files.readAllBytes(Fixtures.image("small-45x30.png"));
        Path file = Files.write(dir.resolve("truncated.png"), Arrays.copyOf(png, png.length / 2));
        assertRejected(file, "corrupt or unsupported PNG image");
    }

    @Test
    void truncatedJpeg() throws IOException {
        byte[] jpeg = Files.readAllBytes(Fixtures.image("photo.jpg"));
        Path file = Files.write(dir.resolve("truncated.jpg"), Arrays.copyOf(jpeg, jpeg.length / 2));
        assertRejected(file, "truncated JPEG image");
    }

    @Test
    void zeroWidth() throws IOException {
        assertRejected(pngHeader(0, 10), "width");
    }

    @Test
    void tooWide() throws IOException {
        assertRejected(pngHeader(ImageDecoder.MAX_SIDE + 1, 10), "larger than 16384 pixels a side");
    }

    @Test
    void decompressionBomb() throws IOException {
        assertRejected(pngHeader(16_000, 16_000), "more than 89478485 pixels");
    }

    private void assertRejected(Path file, String reason) {
        ImageFileException e = assertThrows(ImageFileException.class, () -> ImageDecoder.decode(file));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    /** A PNG of the given size whose pixel data is missing: decoding must refuse it from the header alone. */
    private Path pngHeader(int width, int height) throws IOException {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        ByteBuffer header = ByteBuffer.allocate(13).putInt(width).putInt(height).put(new byte[] {8, 2, 0, 0, 0});
        chunk(png, "IHDR", header.array());
        chunk(png, "IEND", new byte[0]);
        return Files.write(dir.resolve(width + "x" + height + ".png"), png.toByteArray());
    }

    private static void chunk(ByteArrayOutputStream png, String type, byte[] data) {
        byte[] typed = ByteBuffer.allocate(4 + data.length).put(type.getBytes()).put(data).array();
        CRC32 crc = new CRC32();
        crc.update(typed);
        png.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        png.writeBytes(typed);
        png.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
