package dev.dpn.runtime.text;

import dev.dpn.loader.tokenizer.AddedToken;
import java.util.Comparator;
import java.util.List;

/**
 * Finds the added tokens in a text as whole strings: the leftmost match first and, of those starting at one
 * position, the longest; the search goes on after the end of each match.
 */
final class AddedTokenMatcher {
    /** Longest first, so that the first of equal positions is the longest. */
    private final List<AddedToken> tokens;

    AddedTokenMatcher(List<AddedToken> tokens) {
        this.tokens = tokens.stream()
                .sorted(Comparator.comparingInt((AddedToken token) -> token.content().length()).reversed())
                .toList();
    }

    /** The matches in {@code text}, to step through with {@link Matches#find()}. */
    Matches matches(String text) {
        return new Matches(text);
    }

    /** A walk through the matches of one text, in the manner of {@link java.util.regex.Matcher}. */
    final class Matches {
        private static final int NONE = Integer.MAX_VALUE;
        private final String text;
        /** Per token, where it next occurs at or after {@link #end}; NONE if never. */
        private final int[] nextAt;
        private int start;
        private int end;
        private AddedToken token;

        private Matches(String text) {
            this.text = text;
            nextAt = new int[tokens.size()];
            for (int t = 0; t < nextAt.length; t++) {
                nextAt[t] = occurrence(t, 0);
            }
        }

        /** Moves to the next match; false if there is none. */
        boolean find() {
            int best = -1;
            for (int t = 0; t < nextAt.length; t++) {
                if (nextAt[t] < end) {
                    nextAt[t] = occurrence(t, end); // overlapped by the last match
                }
                if (nextAt[t] != NONE && (best < 0 || nextAt[t] < nextAt[best])) {
                    best = t;
                }
            }
            if (best < 0) {
                return false;
            }
            token = tokens.get(best);
            start = nextAt[best];
            end = start + token.content().length();
            return true;
        }

        int start() {
            return start;
        }

        int end() {
            return end;
        }

        int id() {
            return token.id();
        }

        private int occurrence(int t, int from) {
            int at = text.indexOf(tokens.get(t).content(), from);
            return at < 0 ? NONE : at;
        }
    }
}
