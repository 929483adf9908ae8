package dev.dpn.loader.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads added tokens from where transformers saves them beside a {@code tokenizer.model}: the
 * {@code added_tokens_decoder} of {@code tokenizer_config.json} (transformers 4.34 and later), or
 * {@code added_tokens.json} (earlier versions, such as LLaVA-1.5's pin, 4.31).
 *
 * <p>Only plain whole-string matching is supported: a token that strips spaces around it ({@code lstrip},
 * {@code rstrip}), matches whole words only ({@code single_word}) or is matched in normalized text
 * ({@code normalized}) is rejected.
 */
public final class AddedTokensReader {
    private static final String[] UNSUPPORTED_FLAGS = {"lstrip", "rstrip", "single_word", "normalized"};

    private AddedTokensReader() {
    }

    /** The {@code added_tokens_decoder} of a {@code tokenizer_config.json}; none if it has no such key. */
    public static List<AddedToken> readTokenizerConfig(Path file) throws IOException {
        JsonNode decoder = StrictJson.readObject(file).path("added_tokens_decoder");
        if (decoder.isMissingNode() || decoder.isNull()) {
            return List.of();
        }
        if (!decoder.isObject()) {
            throw new TokenizerFileException(file, "added_tokens_decoder is " + StrictJson.quote(decoder)
                    + ", not an object");
        }
        List<AddedToken> tokens = new ArrayList<>();
        for (Map.Entry<String, JsonNode> entry : decoder.properties()) {
            String where = "added_tokens_decoder[\"" + entry.getKey() + "\"]";
            int id;
            try {
                id = Integer.parseInt(entry.getKey());
            } catch (NumberFormatException e) {
                id = -1;
            }
            if (id < 0) {
                throw new TokenizerFileException(file, where + ": the key is not a token id");
            }
            tokens.add(parse(file, where, id, entry.getValue()));
        }
        return checkUnique(file, tokens);
    }

    /**
     * An {@code added_tokens.json}: {@code {"<ROUTER>": 32000}}. Which of these are special is written elsewhere
     * ({@code special_tokens_map.json}); they are taken as not special, so decoding shows them.
     */
    public static List<AddedToken> readAddedTokensJson(Path file) throws IOException {
        List<AddedToken> tokens = new ArrayList<>();
        for (Map.Entry<String, JsonNode> entry : StrictJson.readObject(file).properties()) {
            JsonNode id = entry.getValue();
            if (entry.getKey().isEmpty()) {
                throw new TokenizerFileException(file, "an added token must not be the empty string");
            }
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
                throw new TokenizerFileException(file, "\"" + entry.getKey() + "\" has id " + StrictJson.quote(id)
                        + ", not a token id");
            }
            tokens.add(new AddedToken(id.intValue(), entry.getKey(), false));
        }
        return checkUnique(file, tokens);
    }

    /** One added token's object, as both {@code tokenizer.json} and {@code tokenizer_config.json} write it. */
    static AddedToken parse(Path file, String where, int id, JsonNode token) {
        if (!token.isObject()) {
            throw new TokenizerFileException(file, where + " is " + StrictJson.quote(token) + ", not an object");
        }
        JsonNode content = token.path("content");
        if (!content.isTextual() || content.textValue().isEmpty()) {
            throw new TokenizerFileException(file, where + ": content is " + StrictJson.quote(content)
                    + ", not a non-empty string");
        }
        for (String flag : UNSUPPORTED_FLAGS) {
            JsonNode value = token.path(flag);
            if (!value.isMissingNode() && !value.isNull() && !(value.isBoolean() && !value.booleanValue())) {
                throw new TokenizerFileException(file, where + " (" + content + "): " + flag + " is "
                        + StrictJson.quote(value) + "; only plain whole-string matching is supported");
            }
        }
        JsonNode special = token.path("special");
        if (!special.isMissingNode() && !special.isBoolean()) {
            throw new TokenizerFileException(file, where + ": special is " + StrictJson.quote(special)
                    + ", not true or false");
        }
        return new AddedToken(id, content.textValue(), special.booleanValue());
    }

    /** {@code tokens}, once each checked that no id and no string occurs twice. */
    static List<AddedToken> checkUnique(Path file, List<AddedToken> tokens) {
        Map<Integer, AddedToken> byId = new HashMap<>();
        Map<String, AddedToken> byContent = new HashMap<>();
        for (AddedToken token : tokens) {
            AddedToken sameId = byId.putIfAbsent(token.id(), token);
            if (sameId != null) {
                throw new TokenizerFileException(file, "added tokens \"" + sameId.content() + "\" and \""
                        + token.content() + "\" both have id " + token.id());
            }
            AddedToken sameContent = byContent.putIfAbsent(token.content(), token);
            if (sameContent != null) {
                throw new TokenizerFileException(file, "added token \"" + token.content() + "\" has two ids, "
                        + sameContent.id() + " and " + token.id());
            }
        }
        return List.copyOf(tokens);
    }
}
