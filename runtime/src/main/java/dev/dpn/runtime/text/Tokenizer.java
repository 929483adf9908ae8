package dev.dpn.runtime.text;

import dev.dpn.loader.tokenizer.AddedToken;
import dev.dpn.loader.tokenizer.TokenizerSpec;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Llama's SentencePiece BPE tokenizer, built from either of its file formats ({@link TokenizerSpec}); both give
 * the same ids.
 *
 * <p>Encoding first cuts the added tokens out of the text as whole strings ({@code <image>}, {@code <ROUTER>},
 * {@code <s>}...), then encodes each stretch of text between them on its own with BPE, so that each gets its own
 * leading "▁": {@code "USER: <image>\nWhat"} gives {@code ▁USER : <image> ▁ \n What}, as Hugging Face's tokenizer
 * and LLaVA's per-chunk tokenization do. A lone surrogate in the text is encoded as U+FFFD.
 *
 * <p>Decoding follows SentencePiece; see {@link StreamDecoder} for the details. Immutable and thread-safe.
 */
public final class Tokenizer {
    private static final String IMAGE = "<image>";
    private static final String ROUTER = "<ROUTER>";

    private final BytePairEncoder encoder;
    private final AddedTokenMatcher addedTokens;
    private final Surfaces surfaces;
    /** Pieces and added tokens by their text; an added token wins over a piece of the same text. */
    private final Map<String, Integer> ids;
    private final SpecialIds specialIds;

    private Tokenizer(TokenizerSpec spec) {
        encoder = new BytePairEncoder(spec);
        addedTokens = new AddedTokenMatcher(spec.addedTokens());
        surfaces = new Surfaces(spec);
        ids = new HashMap<>(2 * spec.pieces().size());
        for (int id = 0; id < spec.pieces().size(); id++) {
            ids.put(spec.pieces().get(id), id);
        }
        for (AddedToken token : spec.addedTokens()) {
            ids.put(token.content(), token.id());
        }
        specialIds = new SpecialIds(spec.unkId(), spec.bosId(), spec.eosId(), addedTokenId(spec.addedTokens(), IMAGE),
                addedTokenId(spec.addedTokens(), ROUTER));
    }

    /**
     * The tokenizer {@code spec} describes.
     *
     * @throws IllegalArgumentException if its vocabulary has no "▁" piece
     */
    public static Tokenizer of(TokenizerSpec spec) {
        return new Tokenizer(spec);
    }

    /** The ids of {@code text}, with added tokens matched as whole strings, after {@code <s>} if {@code addBos}. */
    public int[] encode(String text, boolean addBos) {
        int[] out = new int[BytePairEncoder.maxIds(text.length()) + 1];
        int end = 0;
        if (addBos) {
            out[end++] = specialIds.bos();
        }
        int segmentStart = 0;
        AddedTokenMatcher.Matches matches = addedTokens.matches(text);
        while (matches.find()) {
            out = withRoom(out, end, BytePairEncoder.maxIds(matches.start() - segmentStart) + 1);
            end = encoder.encode(text, segmentStart, matches.start(), out, end);
            out[end++] = matches.id();
            segmentStart = matches.end();
        }
        out = withRoom(out, end, BytePairEncoder.maxIds(text.length() - segmentStart));
        end = encoder.encode(text, segmentStart, text.length(), out, end);
        return Arrays.copyOf(out, end);
    }

    /**
     * The ids of {@code text} with added tokens' strings taken as ordinary text ({@code <image>} gives
     * {@code ▁< image >}), without {@code <s>}: what SentencePiece itself makes.
     */
    public int[] encodeAsPlainText(String text) {
        int[] out = new int[BytePairEncoder.maxIds(text.length())];
        return Arrays.copyOf(out, encoder.encode(text, 0, text.length(), out, 0));
    }

    /**
     * The text of {@code ids}, as a {@link StreamDecoder} makes it.
     *
     * @throws IllegalArgumentException if an id is not in the vocabulary
     */
    public String decode(int... ids) {
        StreamDecoder decoder = streamDecoder();
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            decoder.append(id, text);
        }
        decoder.finish(text);
        return text.toString();
    }

    /** A decoder for one stream of ids, such as a generated answer. */
    public StreamDecoder streamDecoder() {
        return new StreamDecoder(surfaces);
    }

    /** The id of a piece or added token, given its text as the files write it ("▁the", "<0x0A>", "<image>"). */
    public OptionalInt tokenId(String piece) {
        Integer id = ids.get(piece);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    public SpecialIds specialIds() {
        return specialIds;
    }

    /** The number of ids, added tokens included: one more than the largest. */
    public int vocabularySize() {
        return surfaces.size();
    }

    private static OptionalInt addedTokenId(List<AddedToken> tokens, String content) {
        return tokens.stream().filter(token -> token.content().equals(content))
                .mapToInt(AddedToken::id).findFirst();
    }

    private static int[] withRoom(int[] ids, int end, int more) {
        return end + more <= ids.length ? ids : Arrays.copyOf(ids, Math.max(2 * ids.length, end + more));
    }
}
