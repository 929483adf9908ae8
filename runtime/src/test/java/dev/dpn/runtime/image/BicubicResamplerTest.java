package dev.dpn.runtime.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dpn.loader.SafetensorsCheckpoint;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class BicubicResamplerTest {
    private static SafetensorsCheckpoint goldens;

    @BeforeAll
    static void open() {
        goldens = Fixtures.goldens();
    }

    @AfterAll
    static void close() {
        goldens.close();
    }

    static Stream<String> resized() {
        return goldens.names().stream().filter(name -> name.startsWith("resize/"));
    }

    /** Goldens "resize/FILE/WxH": PIL's Image.open(FILE).convert("RGB").resize((W, H), BICUBIC). */
    @ParameterizedTest
    @MethodSource("resized")
    void equalsPillowByteForByte(String name) {
        String[] parts = name.split("/");
        int[] size = Arrays.stream(parts[2].split("x")).mapToInt(Integer::parseInt).toArray();
        RgbImage resized = BicubicResampler.resize(ImageDecoder.decode(Fixtures.image(parts[1])), size[0], size[1]);
        // The same integer arithmetic as Pillow: any difference at all is a bug.
        assertEquals(0, Fixtures.maxDifference(Fixtures.rgb(goldens.tensor(name)), resized), name);
    }

    @Test
    void aWindowIsTheCropOfTheWholeResize() {
        RgbImage image = ImageDecoder.decode(Fixtures.image("small-45x30.png"));
        RgbImage whole = BicubicResampler.resize(image, 101, 67);
        RgbImage window = BicubicResampler.resize(Canvas.of(image), 101, 67, 17, 9, 40, 50);
        for (int y = 0; y < 50; y++) {
            for (int x = 0; x < 40; x++) {
                for (int c = 0; c < 3; c++) {
                    assertEquals(whole.sample(17 + x, 9 + y, c), window.sample(x, y, c));
                }
            }
        }
    }

    @Test
    void flatColourStaysFlatWhateverTheScale() {
        byte[] pixels = new byte[7 * 5 * 3];
        for (int i = 0; i < pixels.length; i += 3) {
            pixels[i] = (byte) 200;
            pixels[i + 1] = 17;
            pixels[i + 2] = (byte) 255;
        }
        RgbImage flat = new RgbImage(7, 5, pixels);
        for (int[] size : new int[][] {{1, 1}, {3, 40}, {29, 2}, {7, 5}}) {
            RgbImage resized = BicubicResampler.resize(flat, size[0], size[1]);
            for (int y = 0; y < size[1]; y++) {
                for (int x = 0; x < size[0]; x++) {
                    assertEquals(200, resized.sample(x, y, 0));
                    assertEquals(17, resized.sample(x, y, 1));
                    assertEquals(255, resized.sample(x, y, 2));
                }
            }
        }
    }
}
