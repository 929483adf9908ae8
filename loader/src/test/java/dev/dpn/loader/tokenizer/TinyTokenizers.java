package dev.dpn.loader.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The smallest tokenizers in Llama's layout, in both formats, for crafting broken variants: {@code <unk>},
 * {@code <s>}, {@code </s>}, the 256 byte pieces, then {@code ▁ a b ▁a ab} (ids 259..263), with the merges
 * "▁ a" and "a b".
 */
final class TinyTokenizers {
    static final Path ASSETS = Path.of("../tokenizer/assets");
    static final List<String> PIECES = pieces();
    static final int NORMAL_START = 259;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private TinyTokenizers() {
    }

    private static List<String> pieces() {
        List<String> pieces = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b));
        }
        pieces.addAll(List.of("▁", "a", "b", "▁a", "ab"));
        return List.copyOf(pieces);
    }

    /** One ModelProto.SentencePiece. */
    static ProtobufWriter piece(String text, float score, int type) {
        return new ProtobufWriter().string(1, text).float32(2, score).varint(3, type);
    }

    /** The pieces of a ModelProto, scored so that "▁a" merges before "ab". */
    static ProtobufWriter modelPieces() {
        ProtobufWriter model = new ProtobufWriter();
        for (int id = 0; id < PIECES.size(); id++) {
            int type = id == 0 ? 2 : id < 3 ? 3 : id < NORMAL_START ? 6 : 1;
            float score = id < NORMAL_START ? 0 : -(id - NORMAL_START);
            model.message(1, piece(PIECES.get(id), score, type));
        }
        return model;
    }

    /** A whole tokenizer.model in Llama's layout. */
    static byte[] model() {
        ProtobufWriter trainer = new ProtobufWriter().varint(3, 2).varint(35, 1)
                .varint(40, 0).varint(41, 1).varint(42, 2).varint(43, -1);
        ProtobufWriter normalizer = new ProtobufWriter().string(1, "identity").varint(3, 1).varint(4, 0)
                .varint(5, 1);
        return modelPieces().message(2, trainer).message(3, normalizer).toByteArray();
    }

    /** A whole tokenizer.json in Llama-2's layout, for a test to break. */
    static ObjectNode json() {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<unk>", "<s>", "</s>"};
        for (int id = 0; id < specials.length; id++) {
            added.addObject().put("id", id).put("content", specials[id]).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
        normalizer.putArray("normalizers").add(MAPPER.createObjectNode().put("type", "Prepend").put("prepend", "▁"))
                .add(MAPPER.createObjectNode().put("type", "Replace").put("content", "▁")
                        .set("pattern", MAPPER.createObjectNode().put("String", " ")));
        root.putNull("pre_tokenizer");
        ObjectNode model = root.putObject("model").put("type", "BPE").putNull("dropout").put("unk_token", "<unk>")
                .putNull("continuing_subword_prefix").putNull("end_of_word_suffix").put("fuse_unk", true)
                .put("byte_fallback", true);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < PIECES.size(); id++) {
            vocab.put(PIECES.get(id), id);
        }
        model.putArray("merges").add("▁ a").add("a b");
        return root;
    }
}
