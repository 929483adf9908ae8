package dev.dpn.loader.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a SentencePiece {@code tokenizer.model}: a {@code ModelProto} in protobuf's wire format, read by hand
 * with only the fields encoding and decoding depend on. It must be a BPE model in Llama's layout (byte fallback,
 * no normalization rules, spaces kept and escaped as "▁"); anything else is rejected with the reason.
 *
 * <p>The model has no added tokens; a checkpoint lists them in {@code tokenizer_config.json}
 * ({@link AddedTokensReader}).
 */
public final class SentencePieceModelReader {
    // sentencepiece_model.proto field numbers.
    private static final int MODEL_PIECES = 1;
    private static final int MODEL_TRAINER_SPEC = 2;
    private static final int MODEL_NORMALIZER_SPEC = 3;
    private static final int PIECE_TEXT = 1;
    private static final int PIECE_SCORE = 2;
    private static final int PIECE_TYPE = 3;
    private static final int TRAINER_MODEL_TYPE = 3;
    private static final int TRAINER_TREAT_WHITESPACE_AS_SUFFIX = 24;
    private static final int TRAINER_BYTE_FALLBACK = 35;
    private static final int TRAINER_UNK_ID = 40;
    private static final int TRAINER_BOS_ID = 41;
    private static final int TRAINER_EOS_ID = 42;
    private static final int NORMALIZER_PRECOMPILED_CHARSMAP = 2;
    private static final int NORMALIZER_ADD_DUMMY_PREFIX = 3;
    private static final int NORMALIZER_REMOVE_EXTRA_WHITESPACES = 4;
    private static final int NORMALIZER_ESCAPE_WHITESPACES = 5;

    /** TrainerSpec.ModelType, by number. */
    private static final String[] MODEL_TYPES = {"0", "UNIGRAM", "BPE", "WORD", "CHAR"};
    private static final int MODEL_TYPE_BPE = 2;
    /** SentencePiece.Type, by number; the ones this tokenizer does not handle are null. */
    private static final PieceType[] PIECE_TYPES = {
        null, PieceType.NORMAL, PieceType.UNKNOWN, PieceType.CONTROL, null, null, PieceType.BYTE};
    private static final String[] PIECE_TYPE_NAMES = {
        "0", "NORMAL", "UNKNOWN", "CONTROL", "USER_DEFINED", "UNUSED", "BYTE"};

    private SentencePieceModelReader() {
    }

    /**
     * Reads {@code file}.
     *
     * @throws TokenizerFileException if it is not a SentencePiece model, or not one in Llama's layout
     * @throws IOException if it cannot be read
     */
    public static TokenizerSpec read(Path file) throws IOException {
        ProtobufReader model = ProtobufReader.of(file, "ModelProto", Files.readAllBytes(file));
        List<String> pieces = new ArrayList<>();
        List<PieceType> types = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        // proto2 defaults, for fields a file leaves out.
        int modelType = 1;
        boolean byteFallback = false;
        boolean whitespaceAsSuffix = false;
        int unkId = 0;
        int bosId = 1;
        int eosId = 2;
        boolean addDummyPrefix = true;
        boolean removeExtraWhitespaces = true;
        boolean escapeWhitespaces = true;
        int charsmapBytes = 0;

        while (model.nextField()) {
            switch (model.field()) {
                case MODEL_PIECES -> {
                    ProtobufReader piece = model.message("pieces[" + pieces.size() + "]");
                    String text = null;
                    float score = 0;
                    int type = 1;
                    while (piece.nextField()) {
                        switch (piece.field()) {
                            case PIECE_TEXT -> text = piece.string();
                            case PIECE_SCORE -> score = piece.float32();
                            case PIECE_TYPE -> type = piece.int32();
                            default -> piece.skip();
                        }
                    }
                    pieces.add(text);
                    types.add(pieceType(piece, text, type));
                    scores.add(score);
                }
                case MODEL_TRAINER_SPEC -> {
                    ProtobufReader trainer = model.message("trainer_spec");
                    while (trainer.nextField()) {
                        switch (trainer.field()) {
                            case TRAINER_MODEL_TYPE -> modelType = trainer.int32();
                            case TRAINER_TREAT_WHITESPACE_AS_SUFFIX -> whitespaceAsSuffix = trainer.bool();
                            case TRAINER_BYTE_FALLBACK -> byteFallback = trainer.bool();
                            case TRAINER_UNK_ID -> unkId = trainer.int32();
                            case TRAINER_BOS_ID -> bosId = trainer.int32();
                            case TRAINER_EOS_ID -> eosId = trainer.int32();
                            default -> trainer.skip();
                        }
                    }
                }
                case MODEL_NORMALIZER_SPEC -> {
                    ProtobufReader normalizer = model.message("normalizer_spec");
                    while (normalizer.nextField()) {
                        switch (normalizer.field()) {
                            case NORMALIZER_PRECOMPILED_CHARSMAP -> charsmapBytes = normalizer.bytesLength();
                            case NORMALIZER_ADD_DUMMY_PREFIX -> addDummyPrefix = normalizer.bool();
                            case NORMALIZER_REMOVE_EXTRA_WHITESPACES -> removeExtraWhitespaces = normalizer.bool();
                            case NORMALIZER_ESCAPE_WHITESPACES -> escapeWhitespaces = normalizer.bool();
                            default -> normalizer.skip();
                        }
                    }
                }
                default -> model.skip();
            }
        }

        if (pieces.isEmpty()) {
            throw new TokenizerFileException(file, "has no pieces: not a SentencePiece model");
        }
        if (modelType != MODEL_TYPE_BPE) {
            throw unsupported(file, "trainer_spec.model_type is " + name(MODEL_TYPES, modelType));
        }
        if (!byteFallback) {
            throw unsupported(file, "trainer_spec.byte_fallback is false");
        }
        if (whitespaceAsSuffix) {
            throw unsupported(file, "trainer_spec.treat_whitespace_as_suffix is true");
        }
        if (charsmapBytes > 0) {
            throw unsupported(file, "normalizer_spec has a " + charsmapBytes + "-byte precompiled_charsmap "
                    + "(a normalization such as NFKC)");
        }
        if (removeExtraWhitespaces) {
            throw unsupported(file, "normalizer_spec.remove_extra_whitespaces is true");
        }
        if (!escapeWhitespaces) {
            throw unsupported(file, "normalizer_spec.escape_whitespaces is false");
        }
        checkPieces(file, pieces, types, scores);
        checkSpecialId(file, "unk_id", unkId, PieceType.UNKNOWN, types);
        checkSpecialId(file, "bos_id", bosId, PieceType.CONTROL, types);
        checkSpecialId(file, "eos_id", eosId, PieceType.CONTROL, types);

        float[] scoreArray = new float[scores.size()];
        for (int i = 0; i < scoreArray.length; i++) {
            scoreArray[i] = scores.get(i);
        }
        return new TokenizerSpec(pieces, types, new MergeOrder.Scored(scoreArray), List.of(), addDummyPrefix,
                unkId, bosId, eosId);
    }

    private static PieceType pieceType(ProtobufReader piece, String text, int type) {
        if (text == null || text.isEmpty()) {
            throw piece.failure("has no text");
        }
        PieceType pieceType = type >= 0 && type < PIECE_TYPES.length ? PIECE_TYPES[type] : null;
        if (pieceType == null) {
            throw piece.failure("\"" + text + "\" has type " + name(PIECE_TYPE_NAMES, type)
                    + ", which Llama's tokenizer does not use and this one does not support");
        }
        return pieceType;
    }

    /** Unique pieces, finite scores, and the 256 byte pieces. */
    private static void checkPieces(Path file, List<String> pieces, List<PieceType> types, List<Float> scores) {
        Map<String, Integer> ids = new HashMap<>();
        int bytePieces = 0;
        for (int id = 0; id < pieces.size(); id++) {
            String piece = pieces.get(id);
            Integer earlier = ids.putIfAbsent(piece, id);
            if (earlier != null) {
                throw new TokenizerFileException(file, "pieces " + earlier + " and " + id + " are both \"" + piece
                        + "\"");
            }
            if (!Float.isFinite(scores.get(id))) {
                throw new TokenizerFileException(file, "piece " + id + " \"" + piece + "\" has score "
                        + scores.get(id));
            }
            if (types.get(id) == PieceType.BYTE) {
                if (BytePieces.value(piece) < 0) {
                    throw new TokenizerFileException(file, "piece " + id + " \"" + piece
                            + "\" has type BYTE but is not named <0x00>..<0xFF>");
                }
                bytePieces++;
            }
        }
        if (bytePieces != BytePieces.COUNT) {
            throw unsupported(file, "it has " + bytePieces + " byte pieces, byte fallback needs all "
                    + BytePieces.COUNT);
        }
    }

    private static void checkSpecialId(Path file, String key, int id, PieceType type, List<PieceType> types) {
        if (id < 0 || id >= types.size()) {
            throw new TokenizerFileException(file, "trainer_spec." + key + " is " + id + ", not one of the "
                    + types.size() + " pieces");
        }
        if (types.get(id) != type) {
            throw new TokenizerFileException(file, "trainer_spec." + key + " is " + id + ", a " + types.get(id)
                    + " piece, not " + type);
        }
    }

    private static TokenizerFileException unsupported(Path file, String what) {
        return new TokenizerFileException(file, what + "; only Llama's SentencePiece BPE layout is supported");
    }

    private static String name(String[] names, int number) {
        return number >= 0 && number < names.length ? names[number] : Integer.toString(number);
    }
}
