package dev.dpn.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code dpn} command. Reached through {@link Launcher}, which guarantees a JDK 25 with the Vector API module.
 * Failures the user can fix (a missing file, a corrupt checkpoint) print one line and exit with status 1; usage
 * errors print the usage and exit with status 2.
 */
@Command(name = "dpn", mixinStandardHelpOptions = true, versionProvider = Dpn.Version.class,
        description = "Inference runtime for DPN-LLaVA multimodal models.",
        subcommands = {InspectCommand.class, CommandLine.HelpCommand.class})
public final class Dpn implements Runnable {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, shared by {@link #main} and tests. */
    static CommandLine commandLine() {
        return new CommandLine(new Dpn()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("dpn: " + message(e));
            return 1;
        });
    }

    /** What went wrong, in one line: the first message down the cause chain, else the exception's name. */
    static String message(Throwable e) {
        Throwable t = e;
        while (t.getMessage() == null && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Dpn.class.getPackage().getImplementationVersion();
            return new String[] {"dpn " + (v == null ? "(development build)" : v) + " on Java " + Runtime.version()};
        }
    }
}
