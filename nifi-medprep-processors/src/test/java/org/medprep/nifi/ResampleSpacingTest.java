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
import org.medprep.ops.Reorient;
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
        parameters.put("Anti-aliasing", true);
        parameters.put("Reorient", "None");
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

    @Test
    void antiAliasingIsOnByDefaultForLinearAndCanBeTurnedOff() throws Exception {
        Image in = input(ANATOMICAL);
        double[] t = {5, 3, 2.5};
        for (String aa : new String[]{null, "false"}) {
            runner = TestRunners.newTestRunner(ResampleSpacing.class);
            runner.setProperty(ResampleSpacing.TARGET_SPACING, "5,3,2.5");
            if (aa != null) {
                runner.setProperty(ResampleSpacing.ANTI_ALIASING, aa);
            }
            runner.enqueue(ANATOMICAL, Map.of("filename", "anatomical.nii"));
            runner.run();
            runner.assertAllFlowFilesTransferred(ResampleSpacing.REL_SUCCESS, 1);
            MockFlowFile out = runner.getFlowFilesForRelationship(ResampleSpacing.REL_SUCCESS).get(0);
            boolean on = aa == null;
            assertEncoded(out, OutputFormat.NIFTI, Resample.apply(in, t, Resample.Interpolation.LINEAR, on,
                    1, ReadLimits.DEFAULT.maxVoxels()), "anatomical.nii");
            assertEquals(on, lastStep(out, "ResampleSpacing").get("parameters").get("Anti-aliasing").asBoolean());
        }
    }

    @Test
    void nnUNetAnisotropicRecordsTheLowResolutionAxisAndNeverSmooths() throws Exception {
        runner.setProperty(ResampleSpacing.TARGET_SPACING, "keep,keep,7");
        runner.setProperty(ResampleSpacing.INTERPOLATION, ResampleSpacing.Interpolation.NNUNET.getValue());
        runner.enqueue(ANATOMICAL, Map.of("filename", "anatomical.nii"));
        runner.run();
        runner.assertAllFlowFilesTransferred(ResampleSpacing.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ResampleSpacing.REL_SUCCESS).get(0);
        Image in = input(ANATOMICAL);
        assertEncoded(out, OutputFormat.NIFTI, Resample.apply(in, new double[]{Double.NaN, Double.NaN, 7},
                Resample.Interpolation.NNUNET_ANISOTROPIC, false, 1, ReadLimits.DEFAULT.maxVoxels()),
                "anatomical.nii");
        var parameters = lastStep(out, "ResampleSpacing").get("parameters");
        assertEquals("nnU-Net Anisotropic", parameters.get("Interpolation").asText());
        assertEquals("z", parameters.get("Low-Resolution Axis").asText());
        assertEquals(false, parameters.get("Anti-aliasing").asBoolean());
    }

    @Test
    void reorientToRasHappensBeforeResamplingAndKeepsWorldPositions() throws Exception {
        // anatomical.nii is LAS: RAS flips x; target spacing then refers to the reoriented axes
        runner.setProperty(ResampleSpacing.TARGET_SPACING, "keep,keep,keep");
        runner.setProperty(ResampleSpacing.INTERPOLATION, ResampleSpacing.Interpolation.LABEL.getValue());
        runner.setProperty(ResampleSpacing.REORIENT, ResampleSpacing.Reorientation.RAS.getValue());
        runner.enqueue(ANATOMICAL, Map.of("filename", "anatomical.nii"));
        runner.run();
        runner.assertAllFlowFilesTransferred(ResampleSpacing.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ResampleSpacing.REL_SUCCESS).get(0);
        Image in = input(ANATOMICAL);
        Image expected = Reorient.apply(in, Reorient.Target.RAS);
        assertEncoded(out, OutputFormat.NIFTI, expected, "anatomical.nii");
        Image actual = decode(out.toByteArray());
        assertEquals(in.type(), actual.type());
        assertEquals(-1, actual.geometry().axis(0)[0], 1e-6, "x now points to R (-L)");
        // voxel (0, 0, 0) of the output is the input's voxel (w - 1, 0, 0): same value, same world position
        assertEquals(in.get(in.index(in.width() - 1, 0, 0, 0)), actual.get(0), 0);
        double[] o = actual.geometry().origin();
        double[] expectedOrigin = in.geometry().origin();
        for (int r = 0; r < 3; r++) {
            expectedOrigin[r] += (in.width() - 1) * in.geometry().spacing()[0] * in.geometry().axis(0)[r];
            assertEquals(expectedOrigin[r], o[r], 1e-4);
        }
        assertEquals("RAS", lastStep(out, "ResampleSpacing").get("parameters").get("Reorient").asText());
    }

    @Test
    void antiAliasingIsOnlyOfferedForLinearAndBSpline() {
        runner.setProperty(ResampleSpacing.INTERPOLATION, ResampleSpacing.Interpolation.LABEL.getValue());
        runner.setProperty(ResampleSpacing.ANTI_ALIASING, "maybe");
        runner.assertValid();
        runner.setProperty(ResampleSpacing.INTERPOLATION, ResampleSpacing.Interpolation.LINEAR.getValue());
        runner.assertNotValid();
        runner.setProperty(ResampleSpacing.REORIENT, "XYZ");
        runner.setProperty(ResampleSpacing.ANTI_ALIASING, "false");
        runner.assertNotValid();
    }
}
