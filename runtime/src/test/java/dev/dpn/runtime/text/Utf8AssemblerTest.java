package dev.dpn.runtime.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** SentencePiece's rule: valid characters are kept, every byte of an invalid sequence is a U+FFFD of its own. */
class Utf8AssemblerTest {
    private static final String R = "\uFFFD";

    static Stream<Arguments> runs() {
        return Stream.of(
                Arguments.of("ASCII", new int[] {0x41, 0x0A}, "A\n"),
                Arguments.of("two bytes", new int[] {0xC3, 0xA9}, "é"),
                Arguments.of("three bytes", new int[] {0xE4, 0xBD, 0xA0}, "你"),
                Arguments.of("four bytes", new int[] {0xF0, 0x9F, 0xA6, 0x99}, "🦙"),
                Arguments.of("lead byte then ASCII", new int[] {0xE1, 0x41}, R + "A"),
                Arguments.of("stray continuation", new int[] {0xA9, 0x41}, R + "A"),
                Arguments.of("truncated at the end", new int[] {0xF0, 0x9F, 0xA6}, R + R + R),
                Arguments.of("truncated before a character", new int[] {0xE4, 0xBD, 0xC3, 0xA9}, R + R + "é"),
                Arguments.of("overlong", new int[] {0xC0, 0x80}, R + R),
                Arguments.of("overlong three bytes", new int[] {0xE0, 0x80, 0x80}, R + R + R),
                Arguments.of("surrogate", new int[] {0xED, 0xA0, 0x80}, R + R + R),
                Arguments.of("beyond U+10FFFF", new int[] {0xF4, 0x90, 0x80, 0x80}, R + R + R + R),
                Arguments.of("not a lead byte", new int[] {0xF8, 0x88, 0x80, 0x80, 0x80}, R + R + R + R + R),
                Arguments.of("largest code point", new int[] {0xF4, 0x8F, 0xBF, 0xBF}, "\uDBFF\uDFFF"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runs")
    void assemblesLikeSentencePiece(String name, int[] bytes, String expected) {
        Utf8Assembler assembler = new Utf8Assembler();
        StringBuilder text = new StringBuilder();
        for (int b : bytes) {
            assembler.add(b, text);
        }
        assembler.flush(text);
        assertEquals(expected, text.toString());
    }
}
