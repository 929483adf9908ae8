package dev.dpn.runtime;

/** Receives an answer as it is generated: each call brings the text that became complete with one token. */
@FunctionalInterface
public interface TokenListener {
    TokenListener NONE = text -> {
    };

    void onText(String text);
}
