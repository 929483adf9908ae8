package dev.dpn.loader.gguf;

import dev.dpn.loader.tokenizer.AddedToken;
import dev.dpn.loader.tokenizer.MergeOrder;
import dev.dpn.loader.tokenizer.PieceType;
import dev.dpn.loader.tokenizer.TokenizerSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * A Llama SentencePiece vocabulary as llama.cpp reads it from {@code tokenizer.ggml.*}: one piece, score and token
 * type per id, for every row of the embedding table.
 *
 * <p>llama.cpp's SentencePiece tokenizer merges the adjacent pair whose joined piece scores highest. A
 * {@code tokenizer.model} gives those scores; a {@code tokenizer.json} gives merge ranks instead, which become
 * scores {@code -rank} for the pieces merges make and lower ones for the other normal pieces, so both orders agree.
 * Added tokens beyond the pieces ({@code <image>}, {@code <pad>}) follow, then {@code [PADn]} fillers up to the
 * embedding rows, as convert_hf_to_gguf.py writes them.
 *
 * @param tokenTypes llama_token_type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
 */
record GgufVocabulary(List<String> pieces, float[] scores, int[] tokenTypes) {
    private static final float ADDED_SCORE = -1000f;
    private static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    /**
     * @param size the embedding rows, at least the tokenizer's ids
     * @throws IllegalArgumentException if the tokenizer has ids beyond {@code size}
     */
    static GgufVocabulary of(TokenizerSpec spec, int size) {
        int pieceCount = spec.pieces().size();
        List<String> pieces = new ArrayList<>(spec.pieces());
        float[] scores = new float[size];
        int[] types = new int[size];
        if (pieceCount > size) {
            throw new IllegalArgumentException("the tokenizer has " + pieceCount + " pieces, but the model's "
                    + "embedding table only " + size + " rows");
        }
        float[] pieceScores = pieceScores(spec);
        for (int id = 0; id < pieceCount; id++) {
            types[id] = switch (spec.types().get(id)) {
                case NORMAL -> NORMAL;
                case UNKNOWN -> UNKNOWN;
                case CONTROL -> CONTROL;
                case BYTE -> BYTE;
            };
            scores[id] = pieceScores[id];
        }
        for (int id = pieceCount; id < size; id++) {
            pieces.add("[PAD" + id + "]");
            scores[id] = ADDED_SCORE;
            types[id] = UNUSED;
        }
        for (AddedToken token : spec.addedTokens()) {
            if (token.id() >= size) {
                throw new IllegalArgumentException("added token " + token.content() + " has id " + token.id()
                        + ", beyond the model's " + size + " embedding rows");
            }
            if (token.id() >= pieceCount) {
                pieces.set(token.id(), token.content());
                types[token.id()] = token.special() ? CONTROL : USER_DEFINED;
            }
        }
        return new GgufVocabulary(List.copyOf(pieces), scores, types);
    }

    private static float[] pieceScores(TokenizerSpec spec) {
        return switch (spec.mergeOrder()) {
            case MergeOrder.Scored scored -> scored.scores();
            case MergeOrder.Ranked ranked -> {
                int merges = ranked.merged().length;
                float[] scores = new float[spec.pieces().size()];
                for (int id = 0; id < scores.length; id++) {
                    // Below every merge: such pieces are never the result of joining two others.
                    scores[id] = spec.types().get(id) == PieceType.NORMAL ? -(float) merges - id : 0;
                }
                for (int rank = merges - 1; rank >= 0; rank--) {
                    scores[ranked.merged()[rank]] = -rank;
                }
                yield scores;
            }
        };
    }
}
