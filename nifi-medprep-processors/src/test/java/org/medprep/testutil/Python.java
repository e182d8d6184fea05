/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.testutil;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a reference script from {@code src/test/python} with Debian's interpreter ({@code /usr/bin/python3},
 * where python3-pydicom, -nibabel, -numpy, -opencv and -scipy are installed by {@code ./medprep test}), so
 * tests compare our values with the reference implementations in the same run.
 */
public final class Python {

    /** The interpreter: system property {@code medprep.python}, default /usr/bin/python3. */
    public static final String INTERPRETER = System.getProperty("medprep.python", "/usr/bin/python3").isBlank()
            ? "/usr/bin/python3" : System.getProperty("medprep.python", "/usr/bin/python3");

    private static final ObjectMapper JSON = new ObjectMapper();

    private Python() {
    }

    /** Absolute path of a script in src/test/python. */
    public static Path script(String name) {
        Path p = Path.of("src/test/python", name).toAbsolutePath();
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("reference script missing: " + p);
        }
        return p;
    }

    /**
     * Runs {@code script} with arguments and returns its standard output.
     *
     * @throws AssertionError when the script exits non-zero or takes longer than 10 minutes (its stderr is in
     *                        the message)
     */
    public static String run(String script, String... args) throws IOException, InterruptedException {
        return run(script(script), args);
    }

    /** Runs a script of the repository's {@code tools/} folder (e.g. make_ct_set.py) and returns its output. */
    public static String runTool(String tool, String... args) throws IOException, InterruptedException {
        Path p = Path.of("..", "tools", tool).toAbsolutePath().normalize();
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("tool missing: " + p);
        }
        return run(p, args);
    }

    private static String run(Path script, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(INTERPRETER, script.toString()));
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile("medprep-python", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError("reference script timed out: " + cmd);
            }
            if (p.exitValue() != 0) {
                throw new AssertionError("reference script failed (" + p.exitValue() + "): " + cmd + "\n"
                        + Files.readString(err));
            }
            return new String(out, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(err);
        }
    }

    /** Runs {@code script} and parses its standard output as JSON. */
    public static JsonNode json(String script, String... args) throws IOException, InterruptedException {
        return JSON.readTree(run(script, args));
    }
}
