package dev.dpn.cli;

import java.io.Console;
import java.io.PrintStream;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars on stderr, ASCII. On a terminal the bar redraws in place; in a log (stderr not a terminal) each
 * refresh is a line, and a line equal to the one before is left out: the library renders the finished bar twice,
 * once on its last refresh and once on closing.
 */
final class Progress {
    private Progress() {
    }

    static ProgressBarBuilder bar(String task) {
        ProgressBarBuilder builder = new ProgressBarBuilder().setTaskName(task).setStyle(ProgressBarStyle.ASCII);
        Console console = System.console();
        return console != null && console.isTerminal() ? builder : builder.setConsumer(
                new DelegatingProgressBarConsumer(new DistinctLines(System.err)));
    }

    /** Prints each line unless it repeats the one before. */
    static final class DistinctLines implements java.util.function.Consumer<String> {
        private final PrintStream out;
        private String last;

        DistinctLines(PrintStream out) {
            this.out = out;
        }

        @Override
        public void accept(String line) {
            if (!line.equals(last)) {
                out.println(line);
                out.flush();
                last = line;
            }
        }
    }
}
