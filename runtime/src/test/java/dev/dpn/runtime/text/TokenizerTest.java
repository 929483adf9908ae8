package dev.dpn.runtime.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.dpn.loader.tokenizer.SentencePieceModelReader;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TokenizerTest {

    @ParameterizedTest
    @EnumSource(LlamaTokenizers.class)
    void encodesDpnExamples(LlamaTokenizers source) {
        Tokenizer tokenizer = source.get();
        assertArrayEquals(new int[] {1, 15043, 3186, 29991}, tokenizer.encode("Hello world!", true));
        String prompt = "USER: <image>\nWhat is shown in this image? ASSISTANT:";
        int[] question = {5618, 338, 4318, 297, 445, 1967, 29973, 319, 1799, 9047, 13566, 29901};
        assertArrayEquals(concat(new int[] {3148, 1001, 29901, 529, 3027, 29958, 13}, question),
                tokenizer.encodeAsPlainText(prompt));
        // Each side of <image> gets its own "▁" (29871), as the tokenizer README's added_ids rule says.
        assertArrayEquals(concat(new int[] {1, 3148, 1001, 29901, 29871, 32000, 29871, 13}, question),
                tokenizer.encode(prompt, true));
    }

    @ParameterizedTest
    @EnumSource(LlamaTokenizers.class)
    void encodesTheRouterToken(LlamaTokenizers source) {
        int[] ids = source.get().encode("What is unusual about this image?<ROUTER> ASSISTANT:", false);
        assertArrayEquals(new int[] {1724, 338, 22910, 1048, 445, 1967, 29973, 32002, 29871, 319, 1799, 9047,
            13566, 29901}, ids);
    }

    @ParameterizedTest
    @EnumSource(LlamaTokenizers.class)
    void namesItsIds(LlamaTokenizers source) {
        Tokenizer tokenizer = source.get();
        assertEquals(new SpecialIds(0, 1, 2, OptionalInt.of(32000), OptionalInt.of(32002)), tokenizer.specialIds());
        assertEquals(32003, tokenizer.vocabularySize());
        assertEquals(OptionalInt.of(29871), tokenizer.tokenId("▁"));
        assertEquals(OptionalInt.of(13), tokenizer.tokenId("<0x0A>"));
        assertEquals(OptionalInt.of(32001), tokenizer.tokenId("<pad>"));
        assertEquals(OptionalInt.empty(), tokenizer.tokenId("no such piece"));
    }

    @Test
    void modelAloneHasNoAddedTokens() throws IOException {
        Tokenizer tokenizer = Tokenizer.of(SentencePieceModelReader.read(
                LlamaTokenizers.ASSETS.resolve("tokenizer.model")));
        assertEquals(new SpecialIds(0, 1, 2, OptionalInt.empty(), OptionalInt.empty()), tokenizer.specialIds());
        assertEquals(32000, tokenizer.vocabularySize());
        assertArrayEquals(new int[] {1, 529, 3027, 29958}, tokenizer.encode("<image>", true));
    }

    @Test
    void decodesSpecialTokensToNothing() {
        Tokenizer tokenizer = LlamaTokenizers.TOKENIZER_JSON.get();
        assertEquals("Hi there", tokenizer.decode(1, 32000, 6324, 32002, 727, 32001, 2));
        // <unk> is SentencePiece's unk_surface " ⁇ ", next to the spaces of "▁a" and "▁b".
        int a = tokenizer.tokenId("▁a").getAsInt();
        int b = tokenizer.tokenId("▁b").getAsInt();
        assertEquals("a \u2047  b", tokenizer.decode(a, 0, b));
    }

    @Test
    void streamsCharactersSplitAcrossBytePieces() {
        Tokenizer tokenizer = LlamaTokenizers.TOKENIZER_MODEL.get();
        String text = "Llama 🦙 says 你好, 👩‍👩‍👧 and ᚠᛇᚻ";
        int[] ids = tokenizer.encode(text, true);
        StreamDecoder decoder = tokenizer.streamDecoder();
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            pieces.add(decoder.next(id));
        }
        pieces.add(decoder.finish());
        assertEquals(text, String.join("", pieces));
        assertEquals(text, tokenizer.decode(ids));
        // 🦙 is four byte pieces: nothing comes out until the last.
        int llama = IntStream.range(0, ids.length).filter(i -> ids[i] == tokenizer.tokenId("<0xF0>").getAsInt())
                .findFirst().orElseThrow();
        assertEquals(List.of("", "", "", "🦙"), pieces.subList(llama, llama + 4));
    }

    @Test
    void finishesATruncatedCharacter() {
        StreamDecoder decoder = LlamaTokenizers.TOKENIZER_JSON.get().streamDecoder();
        // <0xF0> <0x9F>: the first half of an emoji.
        assertEquals("", decoder.next(243));
        assertEquals("", decoder.next(162));
        assertEquals("\uFFFD\uFFFD", decoder.finish());
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        Tokenizer tokenizer = LlamaTokenizers.TOKENIZER_JSON.get();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(1, 32003));
        assertEquals("token id 32003 is not in the vocabulary of 32003", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tokenizer.streamDecoder().next(-1));
    }

    @Test
    void encodesInLinearithmicTime() {
        // 300k characters in one segment: BPE that rescans all symbols per merge would take minutes.
        Tokenizer tokenizer = LlamaTokenizers.TOKENIZER_JSON.get();
        String text = "Hello world! ".repeat(25_000);
        int[] ids = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> tokenizer.encode(text, false));
        int[] expected = new int[3 * 25_000 + 1];
        for (int i = 0; i < 25_000; i++) {
            System.arraycopy(new int[] {15043, 3186, 29991}, 0, expected, 3 * i, 3);
        }
        expected[expected.length - 1] = 29871;
        assertArrayEquals(expected, ids);
    }

    private static int[] concat(int[] a, int[] b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
    }
}
