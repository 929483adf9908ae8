package dev.dpn.loader.tokenizer;

import java.util.List;

/**
 * A Llama-style SentencePiece BPE tokenizer as its files describe it, in plain data; the runtime's tokenizer is
 * built from this. The readers have checked it: ids are {@code 0..pieces.size()-1}, byte pieces {@code <0x00>} ..
 * {@code <0xFF>} all exist, and the special ids name pieces of the right type.
 *
 * @param pieces the model's pieces by id, with "▁" (U+2581) where the text has a space
 * @param types each piece's type, by id
 * @param mergeOrder how BPE chooses the next merge
 * @param addedTokens the strings matched whole before BPE; their ids may lie beyond the pieces
 * @param addDummyPrefix whether each text segment gets a "▁" in front before BPE
 */
public record TokenizerSpec(List<String> pieces, List<PieceType> types, MergeOrder mergeOrder,
                            List<AddedToken> addedTokens, boolean addDummyPrefix, int unkId, int bosId, int eosId) {

    public TokenizerSpec {
        pieces = List.copyOf(pieces);
        types = List.copyOf(types);
        addedTokens = List.copyOf(addedTokens);
        if (types.size() != pieces.size()) {
            throw new IllegalArgumentException(types.size() + " piece types for " + pieces.size() + " pieces");
        }
        boolean fits = switch (mergeOrder) {
            case MergeOrder.Ranked ranked -> ranked.right().length == ranked.left().length
                    && ranked.merged().length == ranked.left().length;
            case MergeOrder.Scored scored -> scored.scores().length == pieces.size();
        };
        if (!fits) {
            throw new IllegalArgumentException("the merge order's arrays do not fit each other or the "
                    + pieces.size() + " pieces");
        }
    }

    /** This tokenizer with other added tokens, for a {@code tokenizer.model} whose added tokens live elsewhere. */
    public TokenizerSpec withAddedTokens(List<AddedToken> tokens) {
        return new TokenizerSpec(pieces, types, mergeOrder, tokens, addDummyPrefix, unkId, bosId, eosId);
    }
}
