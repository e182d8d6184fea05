/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medprep.nifi.ClipHU;
import org.medprep.nifi.ResampleSpacing;

/**
 * {@link Apply} against a TestRunner of the same processor (same bytes), and its error paths: unknown processor
 * and property names, invalid values, sensitive properties only from the environment, an invalid input.
 */
class ApplyTest {

    private static final Path ANATOMICAL = Path.of("/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii");
    private static final Path CT_SMALL = Path.of("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm");
    private static final Map<String, String> SECRET =
            Map.of("MEDPREP_PATIENT_KEY_SECRET", "0123456789abcdef0123456789abcdef");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private record Outcome(int exit, String out, String err) {
    }

    private static Outcome apply(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Apply.run(args, env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Outcome apply(String... args) {
        return apply(Map.of(), args);
    }

    @Test
    void resampleSpacingWritesTheBytesOfATestRunnerAndASidecarWithHistory() throws Exception {
        Path out = dir.resolve("sub/out.nii");
        // B-Spline given by its display name, Target Spacing by value
        Outcome o = apply("ResampleSpacing", "--set", "Target Spacing=2,2,2", "--set", "Interpolation=B-Spline",
                ANATOMICAL.toString(), out.toString());
        assertEquals(0, o.exit, o.err);
        assertTrue(o.out.matches("ResampleSpacing -> success \\(\\d+ ms\\)\\R"), o.out);

        TestRunner runner = TestRunners.newTestRunner(ResampleSpacing.class);
        runner.setProperty(ResampleSpacing.TARGET_SPACING, "2,2,2");
        runner.setProperty(ResampleSpacing.INTERPOLATION, ResampleSpacing.Interpolation.BSPLINE.getValue());
        runner.enqueue(ANATOMICAL, Map.of("filename", "anatomical.nii"));
        runner.run();
        MockFlowFile expected = runner.getFlowFilesForRelationship(ResampleSpacing.REL_SUCCESS).get(0);
        assertArrayEquals(expected.toByteArray(), Files.readAllBytes(out));

        Path sidecar = dir.resolve("sub/out.json");
        assertEquals(sidecar, Apply.sidecar(out));
        JsonNode json = JSON.readTree(sidecar.toFile());
        JsonNode history = json.get("medprep.history");
        assertTrue(history.isArray() && history.size() == 1, json.toString());
        assertEquals("ResampleSpacing", history.get(0).get("processor").asText());
        assertTrue(history.get(0).get("ms").isIntegralNumber(), history.toString());
        assertEquals("B-Spline", history.get(0).get("parameters").get("Interpolation").asText());
        assertEquals(expected.getAttribute("medprep.spacing"), json.get("medprep.spacing").asText());
        assertFalse(json.has("uuid") || json.has("filename") || json.has("path"), json.toString());
    }

    @Test
    void sidecarNamesFollowTheFlows() {
        assertEquals(Path.of("/a/x.json"), Apply.sidecar(Path.of("/a/x.nii.gz")));
        assertEquals(Path.of("/a/x.json"), Apply.sidecar(Path.of("/a/x.npy")));
        assertEquals(Path.of("/a/x.json"), Apply.sidecar(Path.of("/a/x")));
        assertEquals(Path.of("/a/.x.json"), Apply.sidecar(Path.of("/a/.x")));
    }

    @Test
    void unknownProcessorListsTheValidOnes() {
        Outcome o = apply("Resample", ANATOMICAL.toString(), dir.resolve("o.nii").toString());
        assertEquals(Apply.USAGE, o.exit);
        assertEquals(1, o.err.lines().count(), o.err);
        for (String name : List.of("ValidateImage", "ResampleSpacing", "ClipHU", "Normalize", "ApplyCLAHE",
                "Denoise", "ResizeWithPadding", "SplitByPatient")) {
            assertTrue(o.err.contains(name), o.err);
        }
        assertTrue(Apply.processorNames().containsAll(List.of("ValidateImage", "SplitByPatient")));
    }

    @Test
    void unknownPropertyListsTheValidOnes() {
        Outcome o = apply("ResampleSpacing", "--set", "Spacing=1,1,1", ANATOMICAL.toString(),
                dir.resolve("o.nii").toString());
        assertEquals(Apply.USAGE, o.exit);
        assertEquals(1, o.err.lines().count(), o.err);
        assertTrue(o.err.contains("'Spacing'") && o.err.contains("Target Spacing")
                && o.err.contains("Interpolation") && o.err.contains("Output Format"), o.err);
        assertFalse(Files.exists(dir.resolve("o.nii")));
    }

    @Test
    void invalidValuesGetNiFisExplanation() {
        Outcome o = apply("ClipHU", "--set", "Output Format=JPEG", CT_SMALL.toString(),
                dir.resolve("o.nii").toString());
        assertEquals(Apply.USAGE, o.exit);
        assertEquals(1, o.err.lines().count(), o.err);
        assertTrue(o.err.contains("'JPEG'") && o.err.contains("Output Format") && o.err.contains("NIfTI"), o.err);

        Outcome p = apply("ResampleSpacing", "--set", "Target Spacing=fine", ANATOMICAL.toString(),
                dir.resolve("o.nii").toString());
        assertEquals(Apply.USAGE, p.exit);
        assertEquals(1, p.err.lines().count(), p.err);
        assertTrue(p.err.contains("'fine'") && p.err.contains("Target Spacing"), p.err);
    }

    @Test
    void sensitivePropertiesComeOnlyFromTheEnvironment() {
        Path in = CT_SMALL;
        Outcome onCommandLine = apply(SECRET, "ValidateImage", "--set", "Patient Key Secret=abc", in.toString(),
                dir.resolve("o.dcm").toString());
        assertEquals(Apply.USAGE, onCommandLine.exit);
        assertTrue(onCommandLine.err.contains("MEDPREP_PATIENT_KEY_SECRET"), onCommandLine.err);

        Outcome missing = apply("ValidateImage", in.toString(), dir.resolve("o.dcm").toString());
        assertEquals(Apply.USAGE, missing.exit);
        assertTrue(missing.err.contains("MEDPREP_PATIENT_KEY_SECRET"), missing.err);
    }

    @Test
    void validateImageOnACorruptFileGoesToInvalidWithItsReason() throws Exception {
        byte[] all = Files.readAllBytes(CT_SMALL);
        Path corrupt = dir.resolve("CT_small-truncated.dcm");
        Files.write(corrupt, Arrays.copyOf(all, all.length / 2));
        Path out = dir.resolve("checked.dcm");
        Outcome o = apply(SECRET, "ValidateImage", corrupt.toString(), out.toString());
        assertEquals(Apply.ROUTED_TO_FAILURE, o.exit, o.out + o.err);
        assertTrue(o.out.startsWith("ValidateImage -> invalid ("), o.out);
        assertEquals(1, o.out.lines().count(), o.out);
        JsonNode json = JSON.readTree(dir.resolve("checked.json").toFile());
        String reason = json.get("medprep.invalid.reason").asText();
        assertFalse(reason.isBlank());
        assertTrue(o.out.strip().endsWith(": " + reason.strip()), o.out);
        assertEquals("invalid", json.get("medprep.history").get(0).get("outcome").asText());
        // the content on invalid is the input, unchanged, as in the flow's quarantine
        assertArrayEquals(Files.readAllBytes(corrupt), Files.readAllBytes(out));

        Outcome valid = apply(SECRET, "ValidateImage", "--set", "Output Content=Decoded Image (NIfTI)",
                CT_SMALL.toString(), dir.resolve("ct.nii").toString());
        assertEquals(0, valid.exit, valid.out + valid.err);
        assertTrue(valid.out.startsWith("ValidateImage -> valid ("), valid.out);
        JsonNode v = JSON.readTree(dir.resolve("ct.json").toFile());
        assertEquals(64, v.get("medprep.patient.key").asText().length(), v.toString());
    }

    @Test
    void clipHuMatchesATestRunner() throws Exception {
        Path out = dir.resolve("ct.nii.gz");
        Outcome o = apply("ClipHU", "--set", "output format=nifti gzip", CT_SMALL.toString(), out.toString());
        assertEquals(0, o.exit, o.err);
        assertTrue(o.out.startsWith("ClipHU -> success ("), o.out);
        TestRunner runner = TestRunners.newTestRunner(ClipHU.class);
        runner.setProperty("Output Format", "NIFTI_GZ");
        runner.enqueue(CT_SMALL, Map.of("filename", "CT_small.dcm"));
        runner.run();
        assertArrayEquals(runner.getFlowFilesForRelationship("success").get(0).toByteArray(), Files.readAllBytes(out));
        assertTrue(Files.isRegularFile(dir.resolve("ct.json")));

        // --repeat: scheduled once, N FlowFiles; the last one written, the same bytes
        Path again = dir.resolve("again.nii.gz");
        Outcome r = apply("ClipHU", "--set", "Output Format=NIfTI gzip", "--repeat", "3", CT_SMALL.toString(),
                again.toString());
        assertEquals(0, r.exit, r.err);
        assertTrue(r.out.matches("ClipHU -> success \\(\\d+ ms median of 3 runs, first \\d+ ms\\)\\R"), r.out);
        assertArrayEquals(Files.readAllBytes(out), Files.readAllBytes(again));
        assertEquals(Apply.USAGE, apply("ClipHU", "--repeat", "0", CT_SMALL.toString(), again.toString()).exit);
    }

    @Test
    void helpListsPropertiesAndSensitiveVariables() {
        Outcome o = apply("ValidateImage", "--help");
        assertEquals(0, o.exit);
        assertTrue(o.out.contains("Patient Key Secret (sensitive: from $MEDPREP_PATIENT_KEY_SECRET"), o.out);
        assertTrue(o.out.contains("relationships: failure, invalid, valid"), o.out);
    }
}
