/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.testutil;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the ITK 5.2 N4 reference {@code tools/n4ref} (N4Ref.cxx: Otsu mask, shrink, ITK's
 * N4BiasFieldCorrectionImageFilter with convergence threshold 1e-7, full-resolution field from the final control
 * lattice, input / exp(field)). The executable is the system property {@code medprep.n4ref}, which the
 * processors' pom sets to {@code tools/n4ref/build/N4Ref} and {@code ./medprep test} sets after building it. A
 * missing tool fails the calling test; it never skips it.
 */
public final class N4RefTool {

    private N4RefTool() {
    }

    /** What one run gave: its stdout line and its wall time. */
    public record Run(String stdout, double seconds) {
    }

    /**
     * The executable.
     *
     * @throws AssertionError when it is missing or not executable (one sentence saying how to build it)
     */
    public static Path executable() {
        String prop = System.getProperty("medprep.n4ref", "");
        Path tool = (prop.isBlank() || prop.startsWith("${")
                ? Path.of("../tools/n4ref/build/N4Ref") : Path.of(prop)).toAbsolutePath().normalize();
        if (!Files.isExecutable(tool)) {
            throw new AssertionError("The ITK N4 reference tool " + tool + " is missing: build it with "
                    + "tools/n4ref/build.sh (./medprep test does this and passes -Dmedprep.n4ref).");
        }
        return tool;
    }

    /**
     * Corrects the NIfTI file {@code in} into the float32 NIfTI {@code out} and writes the multiplicative bias
     * field to {@code bias}.
     *
     * @param iterations e.g. "50x50x50x50"
     * @throws AssertionError when the tool is missing, fails (its stderr in the message) or takes over 10 minutes
     */
    public static Run run(Path in, Path out, int shrink, String iterations, Path bias)
            throws IOException, InterruptedException {
        return run(executable(), in, out, shrink, iterations, bias);
    }

    /**
     * The 2D twin {@code N4Ref2D} (N4Ref.cxx with image dimension 2, built beside N4Ref) on a NIfTI of depth 1.
     *
     * @throws AssertionError as {@link #run}
     */
    public static Run run2d(Path in, Path out, int shrink, String iterations, Path bias)
            throws IOException, InterruptedException {
        Path tool = executable().resolveSibling("N4Ref2D");
        if (!Files.isExecutable(tool)) {
            throw new AssertionError("The ITK N4 reference tool " + tool + " is missing: build it with "
                    + "tools/n4ref/build.sh (./medprep test does this and passes -Dmedprep.n4ref).");
        }
        return run(tool, in, out, shrink, iterations, bias);
    }

    private static Run run(Path tool, Path in, Path out, int shrink, String iterations, Path bias)
            throws IOException, InterruptedException {
        List<String> cmd = List.of(tool.toString(), in.toString(), out.toString(), Integer.toString(shrink),
                iterations, bias.toString());
        Path err = Files.createTempFile("medprep-n4ref", ".err");
        try {
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
            byte[] stdout = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError("the ITK N4 reference tool timed out: " + cmd);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (p.exitValue() != 0) {
                throw new AssertionError("the ITK N4 reference tool failed (" + p.exitValue() + "): " + cmd + "\n"
                        + Files.readString(err));
            }
            return new Run(new String(stdout, StandardCharsets.UTF_8).trim(), seconds);
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
