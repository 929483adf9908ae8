package dev.dpn.loader.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a Hugging Face {@code tokenizer.json} in Llama-2's layout: normalizer {@code Prepend("▁")} +
 * {@code Replace(" ", "▁")}, no pre-tokenizer, a {@code BPE} model with byte fallback, merges as {@code "left right"}
 * strings or {@code ["left", "right"]} pairs, and added tokens matched as plain whole strings. Other layouts are
 * rejected with the reason. The post-processor and decoder are not read: the runtime adds {@code <s>} on request and
 * decodes as SentencePiece does.
 */
public final class TokenizerJsonReader {
    private static final String SPACE_MARK = "▁";
    private static final JsonNode LLAMA_NORMALIZER = StrictJson.parse("""
            {"type": "Sequence", "normalizers": [
              {"type": "Prepend", "prepend": "▁"},
              {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}""");
    /** Model options that change how BPE works; Llama-2 leaves them all unset. */
    private static final String[] UNSUPPORTED_MODEL_OPTIONS = {
        "dropout", "continuing_subword_prefix", "end_of_word_suffix", "ignore_merges"};

    private TokenizerJsonReader() {
    }

    /**
     * Reads {@code file}.
     *
     * @throws TokenizerFileException if it is malformed or not in Llama-2's layout
     * @throws IOException if it cannot be read
     */
    public static TokenizerSpec read(Path file) throws IOException {
        JsonNode root = StrictJson.readObject(file);
        JsonNode normalizer = root.path("normalizer");
        if (!normalizer.equals(LLAMA_NORMALIZER)) {
            throw unsupported(file, "normalizer is " + StrictJson.quote(normalizer));
        }
        JsonNode preTokenizer = root.path("pre_tokenizer");
        if (!preTokenizer.isNull() && !preTokenizer.isMissingNode()) {
            throw unsupported(file, "pre_tokenizer is " + StrictJson.quote(preTokenizer));
        }
        JsonNode model = root.path("model");
        if (!model.isObject()) {
            throw new TokenizerFileException(file, "model is " + StrictJson.quote(model) + ", not an object");
        }
        if (!model.path("type").asText().equals("BPE")) {
            throw unsupported(file, "model.type is " + StrictJson.quote(model.path("type")));
        }
        if (!model.path("byte_fallback").asBoolean()) {
            throw unsupported(file, "model.byte_fallback is " + StrictJson.quote(model.path("byte_fallback")));
        }
        for (String option : UNSUPPORTED_MODEL_OPTIONS) {
            JsonNode value = model.path(option);
            if (!value.isMissingNode() && !value.isNull() && !(value.isBoolean() && !value.booleanValue())) {
                throw unsupported(file, "model." + option + " is " + StrictJson.quote(value));
            }
        }

        List<String> pieces = readVocab(file, model.path("vocab"));
        Map<String, Integer> ids = new HashMap<>(pieces.size() * 2);
        for (int id = 0; id < pieces.size(); id++) {
            ids.put(pieces.get(id), id);
        }
        MergeOrder.Ranked merges = readMerges(file, model.path("merges"), ids);
        List<AddedToken> addedTokens = readAddedTokens(file, root.path("added_tokens"));
        int unkId = pieceId(file, "model.unk_token", model.path("unk_token").asText(null), ids);
        int bosId = pieceId(file, "the bos token", "<s>", ids);
        int eosId = pieceId(file, "the eos token", "</s>", ids);
        List<PieceType> types = pieceTypes(file, pieces, addedTokens, unkId);
        return new TokenizerSpec(pieces, types, merges, addedTokens, true, unkId, bosId, eosId);
    }

    /** The pieces by id, which must run from 0 without gaps. */
    private static List<String> readVocab(Path file, JsonNode vocab) {
        if (!vocab.isObject() || vocab.isEmpty()) {
            throw new TokenizerFileException(file, "model.vocab is " + StrictJson.quote(vocab)
                    + ", not an object of pieces and their ids");
        }
        String[] pieces = new String[vocab.size()];
        for (Map.Entry<String, JsonNode> entry : vocab.properties()) {
            JsonNode id = entry.getValue();
            String where = "model.vocab[\"" + entry.getKey() + "\"]";
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0
                    || id.intValue() >= pieces.length) {
                throw new TokenizerFileException(file, where + " is " + StrictJson.quote(id) + ", not an id in 0.."
                        + (pieces.length - 1) + " (ids must run from 0 without gaps)");
            }
            if (entry.getKey().isEmpty()) {
                throw new TokenizerFileException(file, where + ": a piece must not be empty");
            }
            String other = pieces[id.intValue()];
            if (other != null) {
                throw new TokenizerFileException(file, "model.vocab gives id " + id + " to both \"" + other
                        + "\" and \"" + entry.getKey() + "\"");
            }
            pieces[id.intValue()] = entry.getKey();
        }
        return Arrays.asList(pieces);
    }

    private static MergeOrder.Ranked readMerges(Path file, JsonNode merges, Map<String, Integer> ids) {
        if (!merges.isArray()) {
            throw new TokenizerFileException(file, "model.merges is " + StrictJson.quote(merges)
                    + ", not an array");
        }
        int[] left = new int[merges.size()];
        int[] right = new int[merges.size()];
        int[] merged = new int[merges.size()];
        for (int rank = 0; rank < merges.size(); rank++) {
            String where = "model.merges[" + rank + "]";
            String[] pair = mergePair(merges.get(rank));
            if (pair == null) {
                throw new TokenizerFileException(file, where + " is " + StrictJson.quote(merges.get(rank))
                        + ", neither \"left right\" nor [\"left\", \"right\"]");
            }
            left[rank] = pieceId(file, where, pair[0], ids);
            right[rank] = pieceId(file, where, pair[1], ids);
            merged[rank] = pieceId(file, where + " (the merged piece)", pair[0] + pair[1], ids);
        }
        return new MergeOrder.Ranked(left, right, merged);
    }

    /** The two pieces of a merge in either of the forms Hugging Face writes, or null. */
    private static String[] mergePair(JsonNode merge) {
        if (merge.isTextual()) {
            String text = merge.textValue();
            int space = text.indexOf(' ');
            return space > 0 && space == text.lastIndexOf(' ') && space < text.length() - 1
                    ? new String[] {text.substring(0, space), text.substring(space + 1)} : null;
        }
        if (merge.isArray() && merge.size() == 2 && merge.get(0).isTextual() && merge.get(1).isTextual()) {
            return new String[] {merge.get(0).textValue(), merge.get(1).textValue()};
        }
        return null;
    }

    private static List<AddedToken> readAddedTokens(Path file, JsonNode added) {
        if (added.isMissingNode() || added.isNull()) {
            return List.of();
        }
        if (!added.isArray()) {
            throw new TokenizerFileException(file, "added_tokens is " + StrictJson.quote(added) + ", not an array");
        }
        List<AddedToken> tokens = new ArrayList<>();
        for (int i = 0; i < added.size(); i++) {
            String where = "added_tokens[" + i + "]";
            JsonNode id = added.get(i).path("id");
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
                throw new TokenizerFileException(file, where + ": id is " + StrictJson.quote(id)
                        + ", not a token id");
            }
            tokens.add(AddedTokensReader.parse(file, where, id.intValue(), added.get(i)));
        }
        return AddedTokensReader.checkUnique(file, tokens);
    }

    /**
     * The file has no types: byte pieces are known by name, {@code <unk>} by {@code model.unk_token}, and the
     * special added tokens that are pieces (such as {@code <s>}) are control pieces.
     */
    private static List<PieceType> pieceTypes(Path file, List<String> pieces, List<AddedToken> addedTokens,
                                              int unkId) {
        Set<Integer> control = new HashSet<>();
        for (AddedToken token : addedTokens) {
            if (token.special() && token.id() < pieces.size() && token.id() != unkId) {
                control.add(token.id());
            }
        }
        List<PieceType> types = new ArrayList<>(pieces.size());
        int bytePieces = 0;
        for (int id = 0; id < pieces.size(); id++) {
            PieceType type = PieceType.NORMAL;
            if (id == unkId) {
                type = PieceType.UNKNOWN;
            } else if (control.contains(id)) {
                type = PieceType.CONTROL;
            } else if (BytePieces.value(pieces.get(id)) >= 0) {
                type = PieceType.BYTE;
                bytePieces++;
            }
            types.add(type);
        }
        if (bytePieces != BytePieces.COUNT) {
            throw unsupported(file, "model.vocab has " + bytePieces + " byte pieces, byte fallback needs all "
                    + BytePieces.COUNT);
        }
        return types;
    }

    private static int pieceId(Path file, String where, String piece, Map<String, Integer> ids) {
        Integer id = piece == null ? null : ids.get(piece);
        if (id == null) {
            throw new TokenizerFileException(file, where + ": " + (piece == null ? "no piece given"
                    : "\"" + piece + "\" is not in model.vocab"));
        }
        return id;
    }

    private static TokenizerFileException unsupported(Path file, String what) {
        return new TokenizerFileException(file, what + "; only Llama-2's layout is supported (normalizer "
                + "Prepend(\"" + SPACE_MARK + "\") + Replace(\" \", \"" + SPACE_MARK + "\"), no pre_tokenizer, "
                + "BPE with byte_fallback)");
    }
}
