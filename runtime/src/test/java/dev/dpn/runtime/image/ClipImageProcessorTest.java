package dev.dpn.runtime.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class ClipImageProcessorTest {
    private static SafetensorsCheckpoint goldens;

    @BeforeAll
    static void open() {
        goldens = Fixtures.goldens();
    }

    @AfterAll
    static void close() {
        goldens.close();
    }

    /** expected/STEM-MODE-SIZE.png: the image dpn_ref's preprocess normalises, from PIL. */
    @ParameterizedTest
    @CsvSource({
        "scene-480x360.png, PAD, 224", "scene-480x360.png, CROP, 224",
        "scene-480x360.png, PAD, 336", "scene-480x360.png, CROP, 336",
        "small-45x30.png, PAD, 336", "small-45x30.png, CROP, 224",
        "rgba-50x70.png, PAD, 224", "gray-64x40.png, CROP, 336"})
    void resizesAndCropsAsPil(String file, ResizeMode mode, int size) {
        ClipImageProcessor processor = new ClipImageProcessor(size, mode);
        RgbImage square = processor.resizeAndCrop(ImageDecoder.decode(Fixtures.image(file)));
        String stem = file.substring(0, file.lastIndexOf('.'));
        RgbImage expected = ImageDecoder.decode(
                Fixtures.image("expected/" + stem + "-" + mode.name().toLowerCase(Locale.ROOT) + "-" + size + ".png"));
        // PIL's integer arithmetic, repeated: any difference at all is a bug.
        assertEquals(0, Fixtures.maxDifference(expected, square));
    }

    /** Goldens "normalised/FILE/MODE/SIZE": dpn_ref.preprocess.load_image(FILE, SIZE, MODE). */
    static Stream<String> normalised() {
        return goldens.names().stream().filter(name -> name.startsWith("normalised/"));
    }

    @ParameterizedTest
    @MethodSource("normalised")
    void equalsTheReferenceBitForBit(String name) {
        String[] parts = name.split("/");
        int size = Integer.parseInt(parts[3]);
        ResizeMode mode = ResizeMode.valueOf(parts[2].toUpperCase(Locale.ROOT));
        ClipImageProcessor processor = new ClipImageProcessor(size, mode);
        try (TensorArena arena = new TensorArena()) {
            Tensor pixels = processor.preprocess(Fixtures.image(parts[1]), arena);
            assertEquals(DType.F32, pixels.dtype());
            assertArrayEquals(new long[] {3, size, size}, pixels.shape());
            // numpy's float32 steps, repeated in float: the same bits.
            assertArrayEquals(goldens.tensor(name).toFloatArray(), pixels.toFloatArray(), 0f, name);
        }
    }

    @Test
    void padsAWideImageWithTheMeanColourAboveAndBelow() {
        byte[] red = new byte[40 * 20 * 3];
        for (int i = 0; i < red.length; i += 3) {
            red[i] = (byte) 200;
        }
        double[] mean = {0.48145466, 0.4578275, 0.40821073};
        double[] std = {0.26862954, 0.26130258, 0.27577711};
        int[] pad = {122, 116, 104};
        try (TensorArena arena = new TensorArena()) {
            Tensor pixels = new ClipImageProcessor(28, ResizeMode.PAD).preprocess(new RgbImage(40, 20, red), arena);
            for (int c = 0; c < 3; c++) {
                // Rows 0 and 27 lie in the margins, row 14 in the picture; away from the edges bicubic keeps flat
                // colours. 1e-6: float32 rounding of values near 1.
                int plane = c * 28 * 28;
                double padded = (pad[c] / 255.0 - mean[c]) / std[c];
                assertEquals(padded, pixels.getFloat(plane + 14), 1e-6);
                assertEquals(padded, pixels.getFloat(plane + 27 * 28 + 14), 1e-6);
                double picture = ((c == 0 ? 200 : 0) / 255.0 - mean[c]) / std[c];
                assertEquals(picture, pixels.getFloat(plane + 14 * 28 + 14), 1e-6);
            }
        }
    }

    @Test
    void anExtremeAspectRatioResizesOnlyTheCrop() {
        // Scaled whole, this 1×16384 column would be 224 × 3.7 million pixels (2.5 GB).
        byte[] column = new byte[16_384 * 3];
        Arrays.fill(column, (byte) 77);
        RgbImage square = new ClipImageProcessor(224, ResizeMode.CROP).resizeAndCrop(new RgbImage(1, 16_384, column));
        assertEquals(224, square.width());
        assertEquals(77, square.sample(0, 0, 0));
        assertEquals(77, square.sample(223, 223, 2));
    }

    @Test
    void rejectsANonPositiveSize() {
        assertThrows(IllegalArgumentException.class, () -> new ClipImageProcessor(0, ResizeMode.PAD));
    }
}
