/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.testutil;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the ITK 5.2 resampling reference {@code tools/itk-resample} (ItkResample.cxx: ITK's ResampleImageFilter on
 * our output grid; its header documents the arguments). The executable is the system property
 * {@code medprep.itkResample}, which the processors' pom sets to {@code tools/itk-resample/build/ItkResample} and
 * {@code ./medprep test} sets after building it. A missing tool fails the calling test; it never skips it.
 */
public final class ItkResampleTool {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ItkResampleTool() {
    }

    /**
     * The executable.
     *
     * @throws AssertionError when it is missing or not executable (one sentence saying how to build it)
     */
    public static Path executable() {
        String prop = System.getProperty("medprep.itkResample", "");
        Path tool = (prop.isBlank() || prop.startsWith("${")
                ? Path.of("../tools/itk-resample/build/ItkResample") : Path.of(prop)).toAbsolutePath().normalize();
        if (!Files.isExecutable(tool)) {
            throw new AssertionError("The ITK reference tool " + tool + " is missing: build it with "
                    + "tools/itk-resample/build.sh (./medprep test does this and passes -Dmedprep.itkResample).");
        }
        return tool;
    }

    /**
     * Resamples the NIfTI file {@code in} to {@code target} with {@code kernel} on one thread and writes the
     * float32 NIfTI {@code out}.
     *
     * @param target "x,y,z" in mm, each a number or "keep"
     * @param kernel "nearest", "linear" or "bspline"
     * @return the tool's JSON line (size, spacing, origin, kernel, threads, seconds)
     * @throws AssertionError when the tool is missing, fails (its stderr in the message) or takes over 5 minutes
     */
    public static JsonNode run(Path in, Path out, String target, String kernel)
            throws IOException, InterruptedException {
        List<String> cmd = List.of(executable().toString(), in.toString(), out.toString(), target, kernel, "1");
        Path err = Files.createTempFile("medprep-itk", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
            byte[] stdout = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError("the ITK reference tool timed out: " + cmd);
            }
            if (p.exitValue() != 0) {
                throw new AssertionError("the ITK reference tool failed (" + p.exitValue() + "): " + cmd + "\n"
                        + Files.readString(err));
            }
            return JSON.readTree(new String(stdout, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
