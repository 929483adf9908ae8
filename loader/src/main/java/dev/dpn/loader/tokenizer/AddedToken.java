package dev.dpn.loader.tokenizer;

/**
 * A string that encoding matches whole before BPE, such as {@code <image>}: wherever {@code content} occurs in the
 * text it becomes {@code id}. A special token is invisible when decoded.
 */
public record AddedToken(int id, String content, boolean special) {

    public AddedToken {
        if (id < 0 || content.isEmpty()) {
            throw new IllegalArgumentException("an added token needs an id >= 0 and a non-empty string, not " + id
                    + " and \"" + content + "\"");
        }
    }
}
