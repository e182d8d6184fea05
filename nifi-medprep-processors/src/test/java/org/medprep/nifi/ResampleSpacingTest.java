/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.medprep.testutil.ProcessorChecks.assertAllFailed;
import static org.medprep.testutil.ProcessorChecks.assertEncoded;
import static org.medprep.testutil.ProcessorChecks.assertOneEventPerFlowFile;
import static org.medprep.testutil.ProcessorChecks.assertParameters;
import static org.medprep.testutil.ProcessorChecks.decode;
import static org.medprep.testutil.ProcessorChecks.input;
import static org.medprep.testutil.ProcessorChecks.lastStep;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.nifi.provenance.ProvenanceEventType;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.medprep.io.OutputFormat;
import org.medprep.io.ReadLimits;
import org.medprep.ops.Resample;
import org.medprep.testutil.RealFiles;

class ResampleSpacingTest {

    private static final Path ANATOMICAL = Path.of("/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii");

    private TestRunner runner;

    @BeforeEach
    void setUp() {
        runner = TestRunners.newTestRunner(ResampleSpacing.class);
    }

    @Test
    void bSplineWithKeepResamplesOnlyTheGivenAxes() throws Exception {
        runner.setProperty(ResampleSpacing.TARGET_SPACING, "1.3, keep ,KEEP");
        runner.setProperty(ResampleSpacing.INTERPOLATION, ResampleSpacing.Interpolation.BSPLINE.getValue());
        runner.enqueue(ANATOMICAL, Map.of("filename", "anatomical.nii"));
        runner.run();

        runner.assertAllFlowFilesTransferred(ResampleSpacing.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ResampleSpacing.REL_SUCCESS).get(0);
        Image in = input(ANATOMICAL);
        Image expected = Resample.apply(in, new double[]{1.3, Double.NaN, Double.NaN},
                Resample.Interpolation.BSPLINE, ReadLimits.DEFAULT.maxVoxels());
        assertEncoded(out, OutputFormat.NIFTI, expected, "anatomical.nii");
        // 33 x 41 x 25 at 2 mm: x -> round(33·2/1.3) = 51 at 1.3 mm, y and z kept
        out.assertAttributeEquals("medprep.width", "51");
        out.assertAttributeEquals("medprep.height", "41");
        out.assertAttributeEquals("medprep.depth", "25");
        out.assertAttributeEquals("medprep.spacing", "1.3,2,2");
        assertEquals(VoxelType.FLOAT32, decode(out.toByteArray()).type());
        double[] o0 = in.geometry().origin();
        double[] o1 = expected.geometry().origin();
        // x axis of this file points to L in LPS (RAS affine −2 flipped): origin moves (1.3 − 2)/2 along it
        assertEquals(o0[0] + (1.3 - 2) / 2 * in.geometry().axis(0)[0], o1[0], 1e-9);
        assertEquals(o0[1], o1[1], 1e-9);
        assertEquals(o0[2], o1[2], 1e-9);

        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("Target Spacing", "1.3, keep ,KEEP");
        parameters.put("Interpolation", "B-Spline");
        parameters.put("Output Size", "51,41,25");
        parameters.put("Output Spacing", "1.3,2,2");
        // anatomical.nii: RAS origin (32, −40, −16) is LPS (−32, 40, −16); x moves by (1.3 − 2)/2 along +L
        parameters.put("Output Origin", "-32.35,40,-16");
        parameters.put("Color Images", "Keep Channels");
        parameters.put("Output Format", OutputFormat.NIFTI.displayName());
        assertParameters(lastStep(out, "ResampleSpacing"), parameters);
        out.assertAttributeEquals("medprep.resample.origin", "-32.35,40,-16");
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, List.of(out));
    }

    @Test
    void labelImageKeepsTheIntegerTypeAndOnlyInputValues() throws Exception {
        runner.setProperty(ResampleSpacing.TARGET_SPACING, "1.1,3.3,0.7");
        runner.setProperty(ResampleSpacing.INTERPOLATION, ResampleSpacing.Interpolation.LABEL.getValue());
        runner.enqueue(ANATOMICAL, Map.of("filename", "anatomical.nii"));
        runner.run();

        runner.assertAllFlowFilesTransferred(ResampleSpacing.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ResampleSpacing.REL_SUCCESS).get(0);
        Image in = input(ANATOMICAL);
        assertEquals(VoxelType.INT16, in.type());
        Image expected = Resample.apply(in, new double[]{1.1, 3.3, 0.7}, Resample.Interpolation.NEAREST,
                ReadLimits.DEFAULT.maxVoxels());
        assertEncoded(out, OutputFormat.NIFTI, expected, "anatomical.nii");
        Image actual = decode(out.toByteArray());
        assertEquals(VoxelType.INT16, actual.type());
        Set<Double> labels = new HashSet<>();
        for (int i = 0; i < in.size(); i++) {
            labels.add(in.get(i));
        }
        for (int i = 0; i < actual.size(); i++) {
            assertTrue(labels.contains(actual.get(i)), "output value not in the input: " + actual.get(i));
        }
        assertEquals("Label Image", lastStep(out, "ResampleSpacing").get("parameters").get("Interpolation").asText());
    }

    @ParameterizedTest
    @ValueSource(strings = {"1,1", "1,1,1,1", "1.0,abc,1", "0,1,1", "-1,1,1", "NaN,1,1", "Infinity,1,1", "1,,1",
            "keep;keep;keep"})
    void invalidTargetSpacingMakesTheProcessorInvalid(String text) {
        runner.setProperty(ResampleSpacing.TARGET_SPACING, text);
        runner.assertNotValid();
    }

    @ParameterizedTest
    @ValueSource(strings = {"1,1,1", "keep,keep,keep", "0.5, 0.5, keep", "1e-1,2,3"})
    void validTargetSpacing(String text) {
        runner.setProperty(ResampleSpacing.TARGET_SPACING, text);
        runner.assertValid();
    }

    @Test
    void tooLargeOutputGoesToFailureWithTheReason() throws Exception {
        Path ct = RealFiles.pydicom("CT_small.dcm");
        byte[] original = Files.readAllBytes(ct);
        runner.setProperty(ResampleSpacing.TARGET_SPACING, "0.001,0.001,keep");
        runner.enqueue(original, Map.of("filename", "CT_small.dcm"));
        runner.run();
        assertAllFailed(runner, ResampleSpacing.REL_FAILURE, "ResampleSpacing", List.of(original),
                Pattern.compile("^Resampling to \\d+ x \\d+ x 1 voxels exceeds the limit of 500000000 voxels\\.$"));
    }
}
