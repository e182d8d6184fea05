/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.medprep.testutil.ProcessorChecks.assertAllFailed;
import static org.medprep.testutil.ProcessorChecks.assertEncoded;
import static org.medprep.testutil.ProcessorChecks.assertOneEventPerFlowFile;
import static org.medprep.testutil.ProcessorChecks.assertParameters;
import static org.medprep.testutil.ProcessorChecks.history;
import static org.medprep.testutil.ProcessorChecks.input;
import static org.medprep.testutil.ProcessorChecks.lastStep;
import static org.medprep.testutil.ProcessorChecks.nifti;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.nifi.provenance.ProvenanceEventType;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.medprep.io.OutputFormat;
import org.medprep.ops.Denoise;
import org.medprep.testutil.RealFiles;

class DenoiseTest {

    private TestRunner runner;

    @BeforeEach
    void setUp() {
        runner = TestRunners.newTestRunner(org.medprep.nifi.Denoise.class);
    }

    private static Map<String, Object> params(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    static Stream<Arguments> filters() {
        Path camera = RealFiles.skimage("camera.png");
        Path ct = RealFiles.pydicom("CT_small.dcm");
        Path cr = RealFiles.pydicom("dicomdirtests/77654033/CR1/6154");
        return Stream.of(
                Arguments.of("median 8-bit k7", camera, Map.of("Filter", "Median", "Kernel Size", "7"),
                        (UnaryOperator<Image>) im -> Denoise.median(im, 7),
                        params("Filter", "Median", "Kernel Size", 7)),
                Arguments.of("median int16 k5", ct, Map.of("Filter", "Median", "Kernel Size", "5"),
                        (UnaryOperator<Image>) im -> Denoise.median(im, 5),
                        params("Filter", "Median", "Kernel Size", 5)),
                Arguments.of("gaussian 8-bit", camera, Map.of("Filter", "Gaussian", "Sigma", "2.5"),
                        (UnaryOperator<Image>) im -> Denoise.gaussian(im, 2.5, 2.5),
                        params("Filter", "Gaussian", "Sigma", 2.5, "Sigma Unit", "pixels",
                                "Sigma X (pixels)", 2.5, "Sigma Y (pixels)", 2.5)),
                Arguments.of("gaussian int16", ct, Map.of("Filter", "Gaussian", "Sigma", "1.2"),
                        (UnaryOperator<Image>) im -> Denoise.gaussian(im, 1.2, 1.2),
                        params("Filter", "Gaussian", "Sigma", 1.2, "Sigma Unit", "pixels",
                                "Sigma X (pixels)", 1.2, "Sigma Y (pixels)", 1.2)),
                Arguments.of("bilateral 8-bit", camera,
                        Map.of("Filter", "Bilateral", "Diameter", "7", "Sigma Color", "30", "Sigma Space", "3"),
                        (UnaryOperator<Image>) im -> Denoise.bilateral(im, 7, 30, 3),
                        params("Filter", "Bilateral", "Diameter", 7, "Sigma Color", 30.0, "Sigma Space", 3.0)),
                Arguments.of("bilateral int16", ct, Map.of("Filter", "Bilateral"),
                        (UnaryOperator<Image>) im -> Denoise.bilateral(im, 5, 50, 5),
                        params("Filter", "Bilateral", "Diameter", 5, "Sigma Color", 50.0, "Sigma Space", 5.0)),
                Arguments.of("nl-means 8-bit", camera,
                        Map.of("Filter", "Non-Local Means", "Filter Strength", "12", "Template Window Size", "5",
                                "Search Window Size", "11"),
                        (UnaryOperator<Image>) im -> Denoise.nonLocalMeans(im, 12, 5, 11),
                        params("Filter", "Non-Local Means", "Filter Strength", 12.0, "Template Window Size", 5,
                                "Search Window Size", 11)),
                Arguments.of("nl-means uint16 (MONOCHROME1 CR)", cr,
                        Map.of("Filter", "Non-Local Means", "Filter Strength", "200"),
                        (UnaryOperator<Image>) im -> Denoise.nonLocalMeans(im, 200, 7, 21),
                        params("Filter", "Non-Local Means", "Filter Strength", 200.0, "Template Window Size", 7,
                                "Search Window Size", 21)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("filters")
    void eachFilterEqualsTheOpsCall(String name, Path file, Map<String, String> properties,
                                    UnaryOperator<Image> op, Map<String, Object> parameters) throws Exception {
        properties.forEach(runner::setProperty);
        runner.setProperty("Output Format", "NIFTI_GZ");
        runner.assertValid();
        runner.enqueue(file, Map.of("filename", file.getFileName().toString()));
        runner.run();

        runner.assertAllFlowFilesTransferred(org.medprep.nifi.Denoise.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(org.medprep.nifi.Denoise.REL_SUCCESS).get(0);
        Image in = input(file);
        Image expected = op.apply(in);
        assertEquals(in.type(), expected.type(), "type kept");
        String base = file.getFileName().toString().replaceAll("\\.(png|dcm)$", "");
        assertEncoded(out, OutputFormat.NIFTI_GZ, expected, base + ".nii.gz");
        Map<String, Object> withFormat = new LinkedHashMap<>(parameters);
        withFormat.put("Color Images", "Keep Channels");
        withFormat.put("Output Format", "NIfTI gzip");
        assertParameters(lastStep(out, "Denoise"), withFormat);
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, List.of(out));
    }

    @Test
    void propertiesValidateOnlyForTheirFilter() {
        runner.assertValid();
        runner.setProperty(org.medprep.nifi.Denoise.KERNEL_SIZE, "0");
        runner.assertNotValid();
        runner.setProperty(org.medprep.nifi.Denoise.KERNEL_SIZE, "5");
        runner.assertValid();
        // A bad value of another filter's property does not matter while Median is chosen ...
        runner.setProperty(org.medprep.nifi.Denoise.SIGMA, "wide");
        runner.assertValid();
        // ... and does once Gaussian is.
        runner.setProperty(org.medprep.nifi.Denoise.FILTER, "Gaussian");
        runner.assertNotValid();
        runner.setProperty(org.medprep.nifi.Denoise.SIGMA, "1.5");
        runner.assertValid();
        runner.setProperty(org.medprep.nifi.Denoise.SIGMA_UNIT, "inches");
        runner.assertNotValid();
        runner.setProperty(org.medprep.nifi.Denoise.SIGMA_UNIT, "mm");
        runner.assertValid();

        runner.setProperty(org.medprep.nifi.Denoise.FILTER, "Bilateral");
        runner.assertValid();
        runner.setProperty(org.medprep.nifi.Denoise.DIAMETER, "-1");
        runner.assertNotValid();
        runner.setProperty(org.medprep.nifi.Denoise.DIAMETER, "0");
        runner.assertValid();
        runner.setProperty(org.medprep.nifi.Denoise.SIGMA_COLOR, "much");
        runner.assertNotValid();
        runner.setProperty(org.medprep.nifi.Denoise.SIGMA_COLOR, "20");
        runner.setProperty(org.medprep.nifi.Denoise.SIGMA_SPACE, "x");
        runner.assertNotValid();
        runner.setProperty(org.medprep.nifi.Denoise.SIGMA_SPACE, "2");
        runner.assertValid();

        runner.setProperty(org.medprep.nifi.Denoise.FILTER, "Non-Local Means");
        runner.assertValid();
        runner.setProperty(org.medprep.nifi.Denoise.TEMPLATE_WINDOW, "0");
        runner.assertNotValid();
        runner.setProperty(org.medprep.nifi.Denoise.TEMPLATE_WINDOW, "7");
        runner.setProperty(org.medprep.nifi.Denoise.SEARCH_WINDOW, "big");
        runner.assertNotValid();
        runner.setProperty(org.medprep.nifi.Denoise.SEARCH_WINDOW, "21");
        runner.setProperty(org.medprep.nifi.Denoise.H, "strong");
        runner.assertNotValid();
        runner.setProperty(org.medprep.nifi.Denoise.H, "10");
        runner.assertValid();

        runner.setProperty(org.medprep.nifi.Denoise.FILTER, "Wiener");
        runner.assertNotValid();
    }

    @Test
    void gaussianSigmaInMmIsDividedByEachAxisSpacing() throws Exception {
        Image ct = input(RealFiles.pydicom("CT_small.dcm"));
        Image anisotropic = ct.withGeometry(ct.geometry().withSpacing(new double[]{0.5, 2.0, 3.0}));
        byte[] nii = nifti(anisotropic);
        runner.setProperty(org.medprep.nifi.Denoise.FILTER, "Gaussian");
        runner.setProperty(org.medprep.nifi.Denoise.SIGMA, "2");
        runner.setProperty(org.medprep.nifi.Denoise.SIGMA_UNIT, "mm");
        runner.enqueue(nii, Map.of("filename", "aniso.nii"));
        runner.enqueue(RealFiles.pydicom("CT_small.dcm"), Map.of("filename", "ct.dcm"));
        runner.run(2);

        runner.assertAllFlowFilesTransferred(org.medprep.nifi.Denoise.REL_SUCCESS, 2);
        List<MockFlowFile> outs = runner.getFlowFilesForRelationship(org.medprep.nifi.Denoise.REL_SUCCESS);
        MockFlowFile aniso = outs.get(0);
        aniso.assertAttributeEquals("filename", "aniso.nii");
        JsonNode p = lastStep(aniso, "Denoise").get("parameters");
        assertEquals(2.0, p.get("Sigma").asDouble());
        assertEquals("mm", p.get("Sigma Unit").asText());
        assertEquals(4.0, p.get("Sigma X (pixels)").asDouble());
        assertEquals(1.0, p.get("Sigma Y (pixels)").asDouble());
        assertEncoded(aniso, OutputFormat.NIFTI, Denoise.gaussian(input(nii), 4.0, 1.0), "aniso.nii");

        MockFlowFile real = outs.get(1);
        double[] s = ct.geometry().spacing();
        JsonNode q = lastStep(real, "Denoise").get("parameters");
        assertEquals(2 / s[0], q.get("Sigma X (pixels)").asDouble(), 1e-12);
        assertEquals(2 / s[1], q.get("Sigma Y (pixels)").asDouble(), 1e-12);
        assertEncoded(real, OutputFormat.NIFTI, Denoise.gaussian(ct, 2 / s[0], 2 / s[1]), "ct.nii");
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, outs);
    }

    @Test
    void medianKernel7On16BitDicomFailsWithOpenCvReasonAndRandomBytesFail() throws Exception {
        Path ct = RealFiles.pydicom("CT_small.dcm");
        assertEquals(VoxelType.INT16, input(ct).type());
        runner.setProperty(org.medprep.nifi.Denoise.KERNEL_SIZE, "7");
        byte[] ctBytes = Files.readAllBytes(ct);
        byte[] random = new byte[5000];
        new Random(11).nextBytes(random);
        runner.enqueue(ctBytes);
        runner.run();
        assertAllFailed(runner, org.medprep.nifi.Denoise.REL_FAILURE, "Denoise", List.of(ctBytes),
                Pattern.compile("^OpenCV's median filter takes kernels above 5 only for 8-bit images; this image is "
                        + ".*\\.$"));
        runner.clearTransferState();
        runner.clearProvenanceEvents();
        runner.enqueue(random);
        runner.run();
        assertAllFailed(runner, org.medprep.nifi.Denoise.REL_FAILURE, "Denoise", List.of(random),
                Pattern.compile("not a supported image format"));
    }

    @Test
    void chainAfterResizeAppendsSecondHistoryEntry() throws Exception {
        Path ct = RealFiles.pydicom("CT_small.dcm");
        TestRunner resize = TestRunners.newTestRunner(ResizeWithPadding.class);
        resize.setProperty(ResizeWithPadding.WIDTH, "96");
        resize.setProperty(ResizeWithPadding.HEIGHT, "64");
        resize.enqueue(ct, Map.of("filename", "CT_small.dcm"));
        resize.run();
        MockFlowFile resized = resize.getFlowFilesForRelationship(ResizeWithPadding.REL_SUCCESS).get(0);

        runner.enqueue(resized.toByteArray(), resized.getAttributes());
        runner.run();
        runner.assertAllFlowFilesTransferred(org.medprep.nifi.Denoise.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(org.medprep.nifi.Denoise.REL_SUCCESS).get(0);
        JsonNode h = history(out);
        assertEquals(2, h.size());
        assertEquals("ResizeWithPadding", h.get(0).get("processor").asText());
        assertEquals(96, h.get(0).get("parameters").get("Width").asInt());
        assertEquals("Denoise", h.get(1).get("processor").asText());
        assertEquals(3, h.get(1).get("parameters").get("Kernel Size").asInt());
        Image expected = Denoise.median(input(resized.toByteArray()), 3);
        assertEncoded(out, OutputFormat.NIFTI, expected, "CT_small.nii");
        out.assertAttributeEquals("medprep.letterbox.scale", resized.getAttribute("medprep.letterbox.scale"));
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, List.of(out));
    }

    @Test
    void unsupportedTypeOrEvenKernelRoutesToFailureWithTheOpsReason() throws Exception {
        byte[] ct = Files.readAllBytes(RealFiles.pydicom("CT_small.dcm"));
        runner.setProperty(org.medprep.nifi.Denoise.FILTER, "Non-Local Means");
        runner.enqueue(ct);
        runner.run();
        assertAllFailed(runner, org.medprep.nifi.Denoise.REL_FAILURE, "Denoise", List.of(ct),
                Pattern.compile("^Non-local means does not support int16 images\\.$"));

        TestRunner even = TestRunners.newTestRunner(org.medprep.nifi.Denoise.class);
        even.setProperty(org.medprep.nifi.Denoise.KERNEL_SIZE, "4");
        byte[] camera = Files.readAllBytes(RealFiles.skimage("camera.png"));
        even.enqueue(camera);
        even.run();
        assertAllFailed(even, org.medprep.nifi.Denoise.REL_FAILURE, "Denoise", List.of(camera),
                Pattern.compile("^Median kernel must be odd and at least 3, not 4\\.$"));
    }
}
