package dev.dpn.cli;

/** Checks of prompt text as it arrives from the command line. */
final class Prompts {
    private Prompts() {
    }

    /**
     * Rejects text that was not valid UTF-8: the JVM decodes command-line bytes it cannot read as U+FFFD (or as
     * unpaired surrogates), and answering a garbled question would hide the problem.
     */
    static void requireValid(String prompt) {
        for (int i = 0; i < prompt.length(); i++) {
            char c = prompt.charAt(i);
            boolean unpaired = Character.isHighSurrogate(c)
                    ? i + 1 == prompt.length() || !Character.isLowSurrogate(prompt.charAt(++i))
                    : Character.isLowSurrogate(c);
            if (c == '\uFFFD' || unpaired) {
                throw new IllegalArgumentException("the prompt is not valid UTF-8 text (character " + i + "); if it "
                        + "is, run dpn under a UTF-8 locale, e.g. LANG=C.UTF-8");
            }
        }
        if (prompt.isBlank()) {
            throw new IllegalArgumentException("the prompt is empty");
        }
    }
}
