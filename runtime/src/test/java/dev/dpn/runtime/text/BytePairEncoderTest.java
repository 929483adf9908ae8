package dev.dpn.runtime.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.dpn.loader.tokenizer.MergeOrder;
import dev.dpn.loader.tokenizer.PieceType;
import dev.dpn.loader.tokenizer.TokenizerSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The merge order of both flavours, on a vocabulary small enough to follow by hand. */
class BytePairEncoderTest {
    /** After the 3 special and 256 byte pieces. */
    private static final List<String> NORMAL = List.of("▁", "a", "b", "ab", "ba", "▁a");
    private static final int SPACE = 259;
    private static final int A = 260;
    private static final int B = 261;
    private static final int AB = 262;
    private static final int BA = 263;
    private static final int SPACE_A = 264;

    @Test
    void ranksDecideTheOrder() {
        // "b a" ranks before "a b": in "▁bab", the leftmost pair that merges first is "b a".
        MergeOrder.Ranked merges = new MergeOrder.Ranked(new int[] {B, A}, new int[] {A, B}, new int[] {BA, AB});
        assertArrayEquals(new int[] {SPACE, BA, B}, encode(spec(merges, true), "bab"));
    }

    @Test
    void theLowestRankWinsWhereverItIs() {
        // "a b" ranks first, though "b a" is further left in "bab".
        MergeOrder.Ranked merges = new MergeOrder.Ranked(new int[] {A, B}, new int[] {B, A}, new int[] {AB, BA});
        assertArrayEquals(new int[] {B, AB}, encode(spec(merges, false), "bab"));
    }

    @Test
    void equalScoresGoLeftmostFirst() {
        // "ab" and "ba" score alike: the leftmost pair merges, and the other pair no longer can.
        float[] scores = scores(AB, -1, BA, -1, SPACE_A, -5);
        assertArrayEquals(new int[] {AB, A}, encode(spec(new MergeOrder.Scored(scores), false), "aba"));
        assertArrayEquals(new int[] {BA, B}, encode(spec(new MergeOrder.Scored(scores), false), "bab"));
    }

    @Test
    void theHighestScoreWins() {
        // "▁a" scores above "ab", so "▁ab" becomes "▁a b", not "▁ ab".
        float[] scores = scores(AB, -2, BA, -3, SPACE_A, -1);
        assertArrayEquals(new int[] {SPACE_A, B}, encode(spec(new MergeOrder.Scored(scores), true), "ab"));
        scores = scores(AB, -1, BA, -3, SPACE_A, -2);
        assertArrayEquals(new int[] {SPACE, AB}, encode(spec(new MergeOrder.Scored(scores), true), "ab"));
    }

    @Test
    void spacesAndUnknownCharacters() {
        MergeOrder.Ranked none = new MergeOrder.Ranked(new int[0], new int[0], new int[0]);
        // "é" is not a piece: its UTF-8 bytes C3 A9 are, at 3 + byte.
        assertArrayEquals(new int[] {SPACE, A, SPACE, 3 + 0xC3, 3 + 0xA9, SPACE},
                encode(spec(none, true), "a é "));
        // A lone surrogate has no UTF-8: it is encoded as U+FFFD, EF BF BD.
        assertArrayEquals(new int[] {3 + 0xEF, 3 + 0xBF, 3 + 0xBD}, encode(spec(none, false), "\uD800"));
    }

    @Test
    void vocabularyWithoutASpacePiece() {
        List<String> pieces = new ArrayList<>(pieces());
        pieces.set(SPACE, "_");
        TokenizerSpec spec = new TokenizerSpec(pieces, types(), new MergeOrder.Ranked(new int[0], new int[0],
                new int[0]), List.of(), true, 0, 1, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BytePairEncoder(spec));
        assertEquals("the vocabulary has no \"▁\" piece for spaces", e.getMessage());
    }

    private static int[] encode(TokenizerSpec spec, String text) {
        int[] out = new int[BytePairEncoder.maxIds(text.length())];
        return Arrays.copyOf(out, new BytePairEncoder(spec).encode(text, 0, text.length(), out, 0));
    }

    private static TokenizerSpec spec(MergeOrder merges, boolean addDummyPrefix) {
        return new TokenizerSpec(pieces(), types(), merges, List.of(), addDummyPrefix, 0, 1, 2);
    }

    private static List<String> pieces() {
        List<String> pieces = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b));
        }
        pieces.addAll(NORMAL);
        return pieces;
    }

    private static List<PieceType> types() {
        List<PieceType> types = new ArrayList<>(List.of(PieceType.UNKNOWN, PieceType.CONTROL, PieceType.CONTROL));
        types.addAll(Collections.nCopies(256, PieceType.BYTE));
        types.addAll(Collections.nCopies(NORMAL.size(), PieceType.NORMAL));
        return types;
    }

    /** Scores of the given pieces (id, score, id, score...); single characters score below all. */
    private static float[] scores(float... idsAndScores) {
        float[] scores = new float[SPACE + NORMAL.size()];
        Arrays.fill(scores, SPACE, SPACE + 3, -100);
        for (int i = 0; i < idsAndScores.length; i += 2) {
            scores[(int) idsAndScores[i]] = idsAndScores[i + 1];
        }
        return scores;
    }
}
