/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.medprep.testutil.ProcessorChecks.assertAllFailed;
import static org.medprep.testutil.ProcessorChecks.assertEncoded;
import static org.medprep.testutil.ProcessorChecks.assertOneEventPerFlowFile;
import static org.medprep.testutil.ProcessorChecks.assertParameters;
import static org.medprep.testutil.ProcessorChecks.decode;
import static org.medprep.testutil.ProcessorChecks.history;
import static org.medprep.testutil.ProcessorChecks.input;
import static org.medprep.testutil.ProcessorChecks.lastStep;
import static org.medprep.testutil.ProcessorChecks.niftiDescrip;

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
import org.medprep.ops.Intensity;
import org.medprep.testutil.RealFiles;

class NormalizeTest {

    private static final Path CT = RealFiles.pydicom("CT_small.dcm");
    private static final Path MR = RealFiles.pydicom("MR_small.dcm");
    private static final Path CR = RealFiles.pydicom("dicomdirtests/77654033/CR1/6154");
    private static final Path CAMERA = RealFiles.skimage("camera.png");

    private TestRunner runner;

    @BeforeEach
    void setUp() {
        runner = TestRunners.newTestRunner(Normalize.class);
    }

    private static Map<String, Object> params(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    static Stream<Arguments> methods() {
        return Stream.of(
                Arguments.of("bit depth uint8", CAMERA, Map.of(),
                        (UnaryOperator<Image>) Intensity::scaleByBitDepth,
                        params("Method", "Scale by Bit Depth", "Bits Stored", 8)),
                Arguments.of("min-max CT", CT, Map.of("Method", "Min-Max"),
                        (UnaryOperator<Image>) Intensity::minMax, params("Method", "Min-Max")),
                Arguments.of("min-max MR", MR, Map.of("Method", "Min-Max"),
                        (UnaryOperator<Image>) Intensity::minMax, params("Method", "Min-Max")),
                Arguments.of("z-score CT", CT, Map.of("Method", "Z-Score per Image"),
                        (UnaryOperator<Image>) im -> Intensity.zScore(im, false),
                        params("Method", "Z-Score per Image", "Foreground Only", false)),
                Arguments.of("z-score foreground camera", CAMERA,
                        Map.of("Method", "Z-Score per Image", "Foreground Only", "true"),
                        (UnaryOperator<Image>) im -> Intensity.zScore(im, true),
                        params("Method", "Z-Score per Image", "Foreground Only", true)),
                Arguments.of("z-score fixed CT", CT,
                        Map.of("Method", "Z-Score with Fixed Statistics", "Mean", "120.5", "Standard Deviation",
                                "310"),
                        (UnaryOperator<Image>) im -> Intensity.zScore(im, 120.5, 310),
                        params("Method", "Z-Score with Fixed Statistics", "Mean", 120.5, "Standard Deviation", 310.0)),
                Arguments.of("percentile CT", CT,
                        Map.of("Method", "Percentile Clip", "Low Percentile", "2", "High Percentile", "98"),
                        (UnaryOperator<Image>) im -> Intensity.percentileClip(im, 2, 98),
                        params("Method", "Percentile Clip", "Low Percentile", 2.0, "High Percentile", 98.0)),
                Arguments.of("percentile defaults MR", MR, Map.of("Method", "Percentile Clip"),
                        (UnaryOperator<Image>) im -> Intensity.percentileClip(im, 0.5, 99.5),
                        params("Method", "Percentile Clip", "Low Percentile", 0.5, "High Percentile", 99.5)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("methods")
    void eachMethodEqualsIntensity(String name, Path file, Map<String, String> properties, UnaryOperator<Image> op,
                                   Map<String, Object> parameters) throws Exception {
        properties.forEach(runner::setProperty);
        runner.assertValid();
        runner.enqueue(file, Map.of("filename", file.getFileName().toString()));
        runner.run();
        runner.assertAllFlowFilesTransferred(Normalize.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(Normalize.REL_SUCCESS).get(0);
        Image expected = op.apply(input(file));
        assertEquals(VoxelType.FLOAT32, expected.type());
        String base = file.getFileName().toString().replaceAll("\\.(png|dcm)$", "");
        assertEncoded(out, OutputFormat.NIFTI, expected, base + ".nii");
        Map<String, Object> withFormat = new LinkedHashMap<>(parameters);
        withFormat.put("Color Images", "Keep Channels");
        withFormat.put("Output Format", "NIfTI");
        assertParameters(lastStep(out, "Normalize"), withFormat);
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, List.of(out));
    }

    @Test
    void npyOutputIsFloat32WithImageShape() throws Exception {
        runner.setProperty(Normalize.METHOD, "Min-Max");
        runner.setProperty("Output Format", "NPY");
        runner.enqueue(CT, Map.of("filename", "scan.dicom"));
        runner.run();
        MockFlowFile out = runner.getFlowFilesForRelationship(Normalize.REL_SUCCESS).get(0);
        Image in = input(CT);
        assertEncoded(out, OutputFormat.NPY, Intensity.minMax(in), "scan.npy");
        var npy = org.medprep.testutil.ProcessorChecks.npy(out.toByteArray());
        assertEquals("<f4", npy.descr());
        assertEquals(List.of(in.height(), in.width()), java.util.Arrays.stream(npy.shape()).boxed().toList());
    }

    @Test
    void fixedStatisticsRequireMeanAndStandardDeviation() {
        runner.setProperty(Normalize.METHOD, "Z-Score with Fixed Statistics");
        runner.assertNotValid();
        runner.setProperty(Normalize.MEAN, "0.48");
        runner.assertNotValid();
        runner.setProperty(Normalize.STD, "abc");
        runner.assertNotValid();
        runner.setProperty(Normalize.STD, "0.22");
        runner.assertValid();
        runner.removeProperty(Normalize.MEAN);
        runner.assertNotValid();
        // Not needed by the other methods.
        runner.setProperty(Normalize.METHOD, "Min-Max");
        runner.assertValid();
    }

    @Test
    void scaleByBitDepthOnTwelveBitCrDividesBy4095() throws Exception {
        Image stored = decode(CR);
        assertEquals(12, stored.metadata().bitsStored());
        assertEquals("MONOCHROME1", stored.metadata().photometricInterpretation());
        runner.enqueue(CR, Map.of("filename", "6154"));
        runner.run();
        runner.assertAllFlowFilesTransferred(Normalize.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(Normalize.REL_SUCCESS).get(0);
        out.assertAttributeEquals("filename", "6154.nii");
        Image scaled = decode(out.toByteArray());
        assertEquals(VoxelType.FLOAT32, scaled.type());
        double max = 0;
        for (int i = 0; i < stored.size(); i++) {
            float expected = (float) ((4095 - stored.get(i)) / 4095.0);
            assertEquals(expected, (float) scaled.get(i), "sample " + i);
            assertTrue(scaled.get(i) >= 0 && scaled.get(i) <= 1);
            max = Math.max(max, scaled.get(i));
        }
        // Divided by 4095, not 65535: the brightest sample reaches the 12-bit scale.
        assertEquals((4095 - minStored(stored)) / 4095.0, max, 1e-6);
        assertEquals(12, lastStep(out, "Normalize").get("parameters").get("Bits Stored").asInt());
        assertTrue(niftiDescrip(out.toByteArray()).startsWith("medprep modality=CR photometric=MONOCHROME2 bits=32"),
                niftiDescrip(out.toByteArray()));
    }

    private static double minStored(Image image) {
        double min = Double.MAX_VALUE;
        for (int i = 0; i < image.size(); i++) {
            min = Math.min(min, image.get(i));
        }
        return min;
    }

    @Test
    void floatResultWithPngOutputRoutesToFailureUnchanged() throws Exception {
        runner.setProperty(Normalize.METHOD, "Min-Max");
        runner.setProperty("Output Format", "PNG");
        byte[] camera = Files.readAllBytes(CAMERA);
        runner.enqueue(camera, Map.of("filename", "camera.png"));
        runner.run();
        assertAllFailed(runner, Normalize.REL_FAILURE, "Normalize", List.of(camera),
                Pattern.compile("^PNG output needs integer samples, but this image is FLOAT32; .*NIfTI or NumPy output\\.$"));
        MockFlowFile failed = runner.getFlowFilesForRelationship(Normalize.REL_FAILURE).get(0);
        failed.assertAttributeEquals("filename", "camera.png");
        failed.assertAttributeNotExists("mime.type");
        assertParameters(lastStep(failed, "Normalize"), Map.of("Output Format", "PNG"));
    }

    @Test
    void scaleByBitDepthOnFloatOrSignedInputRoutesToFailure() throws Exception {
        TestRunner first = TestRunners.newTestRunner(Normalize.class);
        first.setProperty(Normalize.METHOD, "Min-Max");
        first.enqueue(CAMERA, Map.of("filename", "camera.png"));
        first.run();
        MockFlowFile normalized = first.getFlowFilesForRelationship(Normalize.REL_SUCCESS).get(0);
        byte[] floatNifti = normalized.toByteArray();

        runner.enqueue(floatNifti, normalized.getAttributes());
        runner.run();
        assertAllFailed(runner, Normalize.REL_FAILURE, "Normalize", List.of(floatNifti),
                Pattern.compile("^Scaling by bit depth needs unsigned 8- or 16-bit samples; this image is float32 "
                        + "\\(use min-max or percentile normalization\\)\\.$"));
        MockFlowFile failed = runner.getFlowFilesForRelationship(Normalize.REL_FAILURE).get(0);
        JsonNode h = history(failed);
        assertEquals(2, h.size(), "the Min-Max step, then the failed one");
        assertTrue(!h.get(0).has("outcome"), "the first step changed content");
        assertEquals("Normalize", h.get(0).get("processor").asText());
        assertEquals("failure", h.get(1).get("outcome").asText());
        failed.assertAttributeEquals("filename", "camera.nii");
        failed.assertAttributeEquals("mime.type", "application/x-nifti");

        TestRunner signed = TestRunners.newTestRunner(Normalize.class);
        byte[] ct = Files.readAllBytes(CT);
        signed.enqueue(ct);
        signed.run();
        assertAllFailed(signed, Normalize.REL_FAILURE, "Normalize", List.of(ct),
                Pattern.compile("^Scaling by bit depth needs unsigned 8- or 16-bit samples"));
    }

    @Test
    void randomBytesRouteToFailureAndFlowFilesInEqualOut() throws Exception {
        byte[] a = new byte[100];
        byte[] b = new byte[10000];
        new Random(1).nextBytes(a);
        new Random(2).nextBytes(b);
        byte[] cam = Files.readAllBytes(CAMERA);
        runner.enqueue(a);
        runner.enqueue(cam);
        runner.enqueue(b);
        runner.run(3);
        runner.assertTransferCount(Normalize.REL_SUCCESS, 1);
        runner.assertTransferCount(Normalize.REL_FAILURE, 2);
        assertEquals(2, runner.getProvenanceEvents().stream()
                .filter(e -> e.getEventType() == ProvenanceEventType.ROUTE).count());
        assertEquals(1, runner.getProvenanceEvents().stream()
                .filter(e -> e.getEventType() == ProvenanceEventType.CONTENT_MODIFIED).count());
        assertEquals(3, runner.getProvenanceEvents().size());
        List<MockFlowFile> failed = runner.getFlowFilesForRelationship(Normalize.REL_FAILURE);
        failed.get(0).assertContentEquals(a);
        failed.get(1).assertContentEquals(b);
        for (MockFlowFile f : failed) {
            assertTrue(f.getAttribute("medprep.failure.reason").contains("not a supported image format"));
        }
    }

    @Test
    void monochrome1IsInvertedOnceAcrossAChain() throws Exception {
        Image stored = decode(CR);
        TestRunner resize = TestRunners.newTestRunner(ResizeWithPadding.class);
        resize.setProperty(ResizeWithPadding.WIDTH, "16");
        resize.setProperty(ResizeWithPadding.HEIGHT, "16");
        resize.setProperty(ResizeWithPadding.INTERPOLATION, "NEAREST");
        resize.enqueue(CR, Map.of("filename", "6154"));
        resize.run();
        MockFlowFile resized = resize.getFlowFilesForRelationship(ResizeWithPadding.REL_SUCCESS).get(0);

        runner.enqueue(resized.toByteArray(), resized.getAttributes());
        runner.run();
        runner.assertAllFlowFilesTransferred(Normalize.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(Normalize.REL_SUCCESS).get(0);
        Image scaled = decode(out.toByteArray());
        for (int i = 0; i < stored.size(); i++) {
            assertEquals((float) ((4095 - stored.get(i)) / 4095.0), (float) scaled.get(i), "sample " + i);
        }
        JsonNode h = history(out);
        assertEquals(2, h.size());
        assertEquals("ResizeWithPadding", h.get(0).get("processor").asText());
        assertEquals("Normalize", h.get(1).get("processor").asText());
        assertEquals(12, h.get(1).get("parameters").get("Bits Stored").asInt());
    }

    @Test
    void percentilesOutOfOrderRouteToFailure() throws Exception {
        runner.setProperty(Normalize.METHOD, "Percentile Clip");
        runner.setProperty(Normalize.LOW_PERCENTILE, "99");
        runner.setProperty(Normalize.HIGH_PERCENTILE, "1");
        byte[] camera = Files.readAllBytes(CAMERA);
        runner.enqueue(camera);
        runner.run();
        assertAllFailed(runner, Normalize.REL_FAILURE, "Normalize", List.of(camera),
                Pattern.compile("^Percentiles must satisfy 0 <= low < high <= 100\\.$"));
    }
}
