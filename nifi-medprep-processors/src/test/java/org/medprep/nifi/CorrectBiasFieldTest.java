/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.medprep.testutil.ProcessorChecks.assertAllFailed;
import static org.medprep.testutil.ProcessorChecks.assertEncoded;
import static org.medprep.testutil.ProcessorChecks.assertOneEventPerFlowFile;
import static org.medprep.testutil.ProcessorChecks.decode;
import static org.medprep.testutil.ProcessorChecks.input;
import static org.medprep.testutil.ProcessorChecks.lastStep;
import static org.medprep.testutil.ProcessorChecks.nifti;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.nifi.provenance.ProvenanceEventType;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.io.OutputFormat;
import org.medprep.ops.N4BiasField;

class CorrectBiasFieldTest {

    private static final Path ANATOMICAL = Path.of("/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii");

    private TestRunner runner;

    @BeforeEach
    void setUp() {
        runner = TestRunners.newTestRunner(CorrectBiasField.class);
    }

    @Test
    void defaultsGiveTheOpsResultAndRecordTheIterations() throws Exception {
        runner.setProperty(CorrectBiasField.CONVERGENCE_THRESHOLD, "0.0000001");
        runner.enqueue(ANATOMICAL, Map.of("filename", "anatomical.nii"));
        runner.run();

        runner.assertAllFlowFilesTransferred(CorrectBiasField.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(CorrectBiasField.REL_SUCCESS).get(0);
        N4BiasField.Result expected = N4BiasField.correct(input(ANATOMICAL),
                N4BiasField.Parameters.itkDefaults().withConvergenceThreshold(1e-7), 1);
        assertEncoded(out, OutputFormat.NIFTI, expected.corrected(), "anatomical.nii");
        assertEquals(VoxelType.FLOAT32, decode(out.toByteArray()).type());
        JsonNode step = lastStep(out, "CorrectBiasField");
        JsonNode p = step.get("parameters");
        assertEquals(4, p.get("Shrink Factor").asInt());
        assertEquals("50,50,50,50", p.get("Maximum Iterations").asText());
        assertEquals("Otsu", p.get("Mask").asText());
        assertEquals("50,50,50,50", p.get("Iterations").asText());
        assertEquals(expected.maskVoxels(), p.get("Mask Voxels (Shrunk)").asInt());
        assertEquals(false, p.get("Bias Field Output").asBoolean());
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, List.of(out));
    }

    @Test
    void biasFieldGoesToItsRelationship() throws Exception {
        runner.setProperty(CorrectBiasField.BIAS_FIELD_OUTPUT, "true");
        runner.setProperty(CorrectBiasField.MAXIMUM_ITERATIONS, "20x20x20");
        runner.enqueue(ANATOMICAL, Map.of("filename", "anatomical.nii"));
        runner.run();

        runner.assertTransferCount(CorrectBiasField.REL_SUCCESS, 1);
        runner.assertTransferCount(CorrectBiasField.REL_BIAS_FIELD, 1);
        runner.assertTransferCount(CorrectBiasField.REL_FAILURE, 0);
        MockFlowFile out = runner.getFlowFilesForRelationship(CorrectBiasField.REL_SUCCESS).get(0);
        MockFlowFile field = runner.getFlowFilesForRelationship(CorrectBiasField.REL_BIAS_FIELD).get(0);
        N4BiasField.Result expected = N4BiasField.correct(input(ANATOMICAL),
                N4BiasField.Parameters.itkDefaults().withMaximumIterations(20, 20, 20), 1);
        assertEncoded(out, OutputFormat.NIFTI, expected.corrected(), "anatomical.nii");
        assertEncoded(field, OutputFormat.NIFTI, expected.biasField(), "anatomical_biasfield.nii");
        assertEquals("bias field", lastStep(field, "CorrectBiasField").get("parameters").get("Output").asText());
        assertEquals("20,20,20", lastStep(out, "CorrectBiasField").get("parameters").get("Maximum Iterations")
                .asText());
        // corrected × field = input
        Image in = input(ANATOMICAL);
        Image c = decode(out.toByteArray());
        Image f = decode(field.toByteArray());
        for (int i = 0; i < in.size(); i += 97) {
            assertEquals(in.get(i), c.get(i) * f.get(i), 1e-3 * Math.max(1, Math.abs(in.get(i))));
        }
    }

    @Test
    void invalidPropertiesAreRefused() {
        runner.setProperty(CorrectBiasField.MAXIMUM_ITERATIONS, "50,fifty");
        runner.assertNotValid();
        runner.setProperty(CorrectBiasField.MAXIMUM_ITERATIONS, "50,50");
        runner.assertValid();
        runner.setProperty(CorrectBiasField.NUMBER_OF_CONTROL_POINTS, "3");
        runner.assertNotValid();
        runner.setProperty(CorrectBiasField.NUMBER_OF_CONTROL_POINTS, "4");
        runner.setProperty(CorrectBiasField.BIAS_FIELD_FWHM, "0");
        runner.assertNotValid();
    }

    @Test
    void tooSmallImagesGoToFailure() throws Exception {
        Image tiny = new Image(VoxelType.FLOAT32, 6, 6, 1, 1, new float[36], Geometry.UNIT,
                ImageMetadata.picture("NIfTI", 32, "MONOCHROME2"));
        ((float[]) tiny.data())[7] = 5;
        byte[] bytes = nifti(tiny);
        runner.enqueue(bytes, Map.of("filename", "tiny.nii"));
        runner.run();
        assertAllFailed(runner, CorrectBiasField.REL_FAILURE, "CorrectBiasField", List.of(bytes),
                Pattern.compile("too small for shrink factor 4"));
        assertTrue(runner.getFlowFilesForRelationship(CorrectBiasField.REL_BIAS_FIELD).isEmpty());
    }
}
