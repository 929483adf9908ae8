package dev.dpn.runtime.text;

import dev.dpn.loader.tokenizer.AddedToken;
import dev.dpn.loader.tokenizer.BytePieces;
import dev.dpn.loader.tokenizer.TokenizerSpec;
import java.util.Arrays;
import java.util.List;

/**
 * What each token id decodes to, as SentencePiece decodes: a normal piece to its text with "▁" as a space,
 * {@code <unk>} to " ⁇ ", control pieces ({@code <s>}, {@code </s>}) and special added tokens to nothing, other
 * added tokens to their text, and a byte piece to its byte (see {@link Utf8Assembler}).
 */
final class Surfaces {
    /** SentencePiece's default {@code unk_surface}. */
    private static final String UNKNOWN = " \u2047 ";
    private static final int NOT_A_BYTE = -1;

    /** By id; null for an id no piece or added token has. */
    private final String[] texts;
    private final int[] byteValues;
    /** Normal pieces that begin with "▁": the first such piece of a text loses that space. */
    private final boolean[] leadingSpaceMark;

    Surfaces(TokenizerSpec spec) {
        List<String> pieces = spec.pieces();
        int size = pieces.size();
        for (AddedToken token : spec.addedTokens()) {
            size = Math.max(size, token.id() + 1);
        }
        texts = new String[size];
        byteValues = new int[size];
        Arrays.fill(byteValues, NOT_A_BYTE);
        leadingSpaceMark = new boolean[size];
        for (int id = 0; id < pieces.size(); id++) {
            String piece = pieces.get(id);
            switch (spec.types().get(id)) {
                case NORMAL -> {
                    texts[id] = piece.replace('▁', ' ');
                    leadingSpaceMark[id] = piece.startsWith("▁");
                }
                case UNKNOWN -> texts[id] = UNKNOWN;
                case CONTROL -> texts[id] = "";
                case BYTE -> {
                    texts[id] = "";
                    byteValues[id] = BytePieces.value(piece);
                }
            }
        }
        for (AddedToken token : spec.addedTokens()) {
            if (token.id() >= pieces.size()) {
                texts[token.id()] = token.special() ? "" : token.content();
            }
        }
    }

    int size() {
        return texts.length;
    }

    /** The byte a byte piece stands for, or -1 for other ids. */
    int byteValue(int id) {
        return byteValues[check(id)];
    }

    String text(int id) {
        return texts[check(id)];
    }

    boolean hasLeadingSpaceMark(int id) {
        return leadingSpaceMark[check(id)];
    }

    private int check(int id) {
        if (id < 0 || id >= texts.length || texts[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary of " + texts.length
                    + (id >= 0 && id < texts.length ? " (no piece or added token has it)" : ""));
        }
        return id;
    }
}
