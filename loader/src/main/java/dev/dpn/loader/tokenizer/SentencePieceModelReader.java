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
        ProtobufReader reader = ProtobufReader.of(file, "ModelProto", Files.readAllBytes(file));
        Fields model = new Fields();
        while (reader.nextField()) {
            switch (reader.field()) {
                case MODEL_PIECES -> readPiece(reader.message("pieces[" + model.pieces.size() + "]"), model);
                case MODEL_TRAINER_SPEC -> readTrainerSpec(reader.message("trainer_spec"), model);
                case MODEL_NORMALIZER_SPEC -> readNormalizerSpec(reader.message("normalizer_spec"), model);
                default -> reader.skip();
            }
        }
        checkLayout(file, model);
        checkPieces(file, model.pieces, model.types, model.scores);
        checkSpecialId(file, "unk_id", model.unkId, PieceType.UNKNOWN, model.types);
        checkSpecialId(file, "bos_id", model.bosId, PieceType.CONTROL, model.types);
        checkSpecialId(file, "eos_id", model.eosId, PieceType.CONTROL, model.types);
        float[] scores = new float[model.scores.size()];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = model.scores.get(i);
        }
        return new TokenizerSpec(model.pieces, model.types, new MergeOrder.Scored(scores), List.of(),
                model.addDummyPrefix, model.unkId, model.bosId, model.eosId);
    }

    /**
     * The fields read so far, starting from proto2's defaults. A message that occurs twice merges into them field
     * by field, as protobuf defines.
     */
    private static final class Fields {
        final List<String> pieces = new ArrayList<>();
        final List<PieceType> types = new ArrayList<>();
        final List<Float> scores = new ArrayList<>();
        int modelType = 1;
        boolean byteFallback;
        boolean whitespaceAsSuffix;
        int unkId = 0;
        int bosId = 1;
        int eosId = 2;
        int charsmapBytes;
        boolean addDummyPrefix = true;
        boolean removeExtraWhitespaces = true;
        boolean escapeWhitespaces = true;
    }

    private static void readPiece(ProtobufReader piece, Fields model) {
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
        model.types.add(pieceType(piece, text, type));
        model.pieces.add(text);
        model.scores.add(score);
    }

    private static void readTrainerSpec(ProtobufReader trainer, Fields model) {
        while (trainer.nextField()) {
            switch (trainer.field()) {
                case TRAINER_MODEL_TYPE -> model.modelType = trainer.int32();
                case TRAINER_TREAT_WHITESPACE_AS_SUFFIX -> model.whitespaceAsSuffix = trainer.bool();
                case TRAINER_BYTE_FALLBACK -> model.byteFallback = trainer.bool();
                case TRAINER_UNK_ID -> model.unkId = trainer.int32();
                case TRAINER_BOS_ID -> model.bosId = trainer.int32();
                case TRAINER_EOS_ID -> model.eosId = trainer.int32();
                default -> trainer.skip();
            }
        }
    }

    private static void readNormalizerSpec(ProtobufReader normalizer, Fields model) {
        while (normalizer.nextField()) {
            switch (normalizer.field()) {
                case NORMALIZER_PRECOMPILED_CHARSMAP -> model.charsmapBytes = normalizer.bytesLength();
                case NORMALIZER_ADD_DUMMY_PREFIX -> model.addDummyPrefix = normalizer.bool();
                case NORMALIZER_REMOVE_EXTRA_WHITESPACES -> model.removeExtraWhitespaces = normalizer.bool();
                case NORMALIZER_ESCAPE_WHITESPACES -> model.escapeWhitespaces = normalizer.bool();
                default -> normalizer.skip();
            }
        }
    }

    /** Llama's layout: BPE with byte fallback, no normalization rules, spaces kept and escaped as "▁". */
    private static void checkLayout(Path file, Fields model) {
        if (model.pieces.isEmpty()) {
            throw new TokenizerFileException(file, "has no pieces: not a SentencePiece model");
        }
        if (model.modelType != MODEL_TYPE_BPE) {
            throw unsupported(file, "trainer_spec.model_type is " + name(MODEL_TYPES, model.modelType));
        }
        if (!model.byteFallback) {
            throw unsupported(file, "trainer_spec.byte_fallback is false");
        }
        if (model.whitespaceAsSuffix) {
            throw unsupported(file, "trainer_spec.treat_whitespace_as_suffix is true");
        }
        if (model.charsmapBytes > 0) {
            throw unsupported(file, "normalizer_spec has a " + model.charsmapBytes + "-byte precompiled_charsmap "
                    + "(a normalization such as NFKC)");
        }
        if (model.removeExtraWhitespaces) {
            throw unsupported(file, "normalizer_spec.remove_extra_whitespaces is true");
        }
        if (!model.escapeWhitespaces) {
            throw unsupported(file, "normalizer_spec.escape_whitespaces is false");
        }
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
