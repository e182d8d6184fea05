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
                Arguments.of("min-max CT", CT, Map.of("Method", "MIN_MAX"),
                        (UnaryOperator<Image>) Intensity::minMax, params("Method", "Min-Max")),
                Arguments.of("min-max MR", MR, Map.of("Method", "MIN_MAX"),
                        (UnaryOperator<Image>) Intensity::minMax, params("Method", "Min-Max")),
                Arguments.of("z-score CT", CT, Map.of("Method", "Z_SCORE"),
                        (UnaryOperator<Image>) im -> Intensity.zScore(im, false),
                        params("Method", "Z-Score per Image", "Foreground Only", false)),
                Arguments.of("z-score foreground camera", CAMERA,
                        Map.of("Method", "Z_SCORE", "Foreground Only", "true"),
                        (UnaryOperator<Image>) im -> Intensity.zScore(im, true),
                        params("Method", "Z-Score per Image", "Foreground Only", true)),
                Arguments.of("z-score fixed CT", CT,
                        Map.of("Method", "Z_SCORE_FIXED", "Mean", "120.5", "Standard Deviation",
                                "310"),
                        (UnaryOperator<Image>) im -> Intensity.zScore(im, 120.5, 310),
                        params("Method", "Z-Score with Fixed Statistics", "Mean", 120.5, "Standard Deviation", 310.0)),
                Arguments.of("percentile CT", CT,
                        Map.of("Method", "PERCENTILE", "Low Percentile", "2", "High Percentile", "98"),
                        (UnaryOperator<Image>) im -> Intensity.percentileClip(im, 2, 98),
                        params("Method", "Percentile Clip", "Low Percentile", 2.0, "High Percentile", 98.0)),
                Arguments.of("percentile defaults MR", MR, Map.of("Method", "PERCENTILE"),
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
        runner.setProperty(Normalize.METHOD, "MIN_MAX");
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
        runner.setProperty(Normalize.METHOD, "Z_SCORE_FIXED");
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
        runner.setProperty(Normalize.METHOD, "MIN_MAX");
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
        runner.setProperty(Normalize.METHOD, "MIN_MAX");
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
        first.setProperty(Normalize.METHOD, "MIN_MAX");
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
        runner.setProperty(Normalize.METHOD, "PERCENTILE");
        runner.setProperty(Normalize.LOW_PERCENTILE, "99");
        runner.setProperty(Normalize.HIGH_PERCENTILE, "1");
        byte[] camera = Files.readAllBytes(CAMERA);
        runner.enqueue(camera);
        runner.run();
        assertAllFailed(runner, Normalize.REL_FAILURE, "Normalize", List.of(camera),
                Pattern.compile("^Percentiles must satisfy 0 <= low < high <= 100\\.$"));
    }

    // ---------------------------------------------------------------- MR methods (issue 8)

    private static final Path ANATOMICAL = RealFiles.nibabel("tests/data/anatomical.nii");
    private static final Path CH2 = RealFiles.mricron("ch2.nii.gz");

    private MockFlowFile runOne(Path file) throws Exception {
        runner.assertValid();
        runner.enqueue(file, Map.of("filename", file.getFileName().toString()));
        runner.run();
        runner.assertAllFlowFilesTransferred(Normalize.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(Normalize.REL_SUCCESS).get(0);
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, List.of(out));
        return out;
    }

    @Test
    void whiteStripeEqualsTheOpAndRecordsWhatItFound() throws Exception {
        runner.setProperty(Normalize.METHOD, Normalize.Method.WHITESTRIPE.getValue());
        runner.setProperty(Normalize.CONTRAST, Normalize.Contrast.T1.getValue());
        MockFlowFile out = runOne(CH2);
        org.medprep.ops.WhiteStripe.Result expected = org.medprep.ops.WhiteStripe.normalize(input(CH2),
                org.medprep.ops.WhiteStripe.Contrast.T1, 0.05, org.medprep.ops.ForegroundMask.Kind.ABOVE_MEAN);
        assertEncoded(out, OutputFormat.NIFTI, expected.image(), "ch2.nii");
        JsonNode p = lastStep(out, "Normalize").get("parameters");
        assertEquals("WhiteStripe", p.get("Method").asText());
        assertEquals("T1", p.get("Contrast").asText());
        assertEquals(0.05, p.get("WhiteStripe Width").asDouble());
        assertEquals("Above Image Mean", p.get("Foreground Mask").asText());
        assertEquals(expected.mode(), p.get("White Matter Mode").asDouble());
        assertEquals(expected.lower(), p.get("Stripe").get(0).asDouble());
        assertEquals(expected.upper(), p.get("Stripe").get(1).asDouble());
        assertEquals(expected.stripeVoxels(), p.get("Stripe Voxels").asInt());
        assertEquals(expected.mean(), p.get("Stripe Mean").asDouble());
        assertEquals(expected.sd(), p.get("Stripe Standard Deviation").asDouble());
    }

    @Test
    void whiteStripeWidthMustLieBetweenZeroAndOneHalf() {
        runner.setProperty(Normalize.METHOD, Normalize.Method.WHITESTRIPE.getValue());
        runner.assertValid();
        for (String bad : List.of("0", "0.5", "-0.1", "abc")) {
            runner.setProperty(Normalize.WHITESTRIPE_WIDTH, bad);
            runner.assertNotValid();
        }
        runner.setProperty(Normalize.WHITESTRIPE_WIDTH, "0.1");
        runner.setProperty(Normalize.CONTRAST, "FLAIR");
        runner.assertValid();
        runner.setProperty(Normalize.CONTRAST, "PD");
        runner.assertNotValid();
    }

    @Test
    void foregroundZScoreIsNnUNetsMaskedZScore() throws Exception {
        runner.setProperty(Normalize.METHOD, Normalize.Method.Z_SCORE_FOREGROUND.getValue());
        MockFlowFile out = runOne(ANATOMICAL);
        Image in = input(ANATOMICAL);
        assertEncoded(out, OutputFormat.NIFTI,
                Intensity.zScoreInMask(in, org.medprep.ops.ForegroundMask.nonzeroFilled(in)), "anatomical.nii");
        assertParameters(lastStep(out, "Normalize"), Map.of("Method", "Z-Score over Foreground (nnU-Net)",
                "Color Images", "Keep Channels", "Output Format", "NIfTI"));
    }

    @Test
    void nyulTakesLandmarksAsListOrFileAndChecksThem(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        runner.setProperty(Normalize.METHOD, Normalize.Method.NYUL.getValue());
        runner.assertNotValid(); // Standard Landmarks required
        runner.setProperty(Normalize.STANDARD_LANDMARKS, "1,8,15,24,33,42,51,60,70,82");
        runner.assertNotValid(); // 10 landmarks, 11 percentiles
        runner.setProperty(Normalize.STANDARD_LANDMARKS, "1,8,15,24,33,42,51,60,70,82,82");
        runner.assertNotValid(); // not increasing
        runner.setProperty(Normalize.STANDARD_LANDMARKS, tmp.resolve("missing.txt").toString());
        runner.assertNotValid();
        runner.setProperty(Normalize.STANDARD_LANDMARKS, "1,8,15,24,33,42,51,60,70,82,100");
        runner.assertValid();
        runner.setProperty(Normalize.LANDMARK_PERCENTILES, "1,50,99");
        runner.assertNotValid();
        runner.setProperty(Normalize.STANDARD_LANDMARKS, "0, 40, 100");
        runner.assertValid();

        // The file tools/learn_nyul_landmarks.py writes, learned from a "train" folder.
        Path train = Files.createDirectories(tmp.resolve("out/train/patient1"));
        Files.copy(ANATOMICAL, train.resolve("anatomical.nii"));
        Files.copy(CH2, train.getParent().resolve("ch2.nii.gz"));
        Path landmarks = tmp.resolve("nyul.txt");
        org.medprep.testutil.Python.runTool("learn_nyul_landmarks.py", train.getParent().toString(), "--output",
                landmarks.toString());
        runner.removeProperty(Normalize.LANDMARK_PERCENTILES);
        runner.setProperty(Normalize.STANDARD_LANDMARKS, landmarks.toString());
        MockFlowFile out = runOne(ANATOMICAL);

        // The tool's landmarks equal the mean of each training image's landmarks mapped onto [1, 100].
        double[] pcs = org.medprep.ops.NyulStandardization.DEFAULT_PERCENTILES;
        double[] expected = new double[pcs.length];
        for (Path f : List.of(train.resolve("anatomical.nii"), train.getParent().resolve("ch2.nii.gz"))) {
            double[] m = org.medprep.ops.NyulStandardization.standardize(input(f), pcs, new double[] {
                    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, org.medprep.ops.ForegroundMask.Kind.ABOVE_MEAN).landmarks();
            for (int k = 0; k < m.length; k++) {
                expected[k] += (1 + (m[k] - m[0]) / (m[m.length - 1] - m[0]) * 99) / 2;
            }
        }
        double[] learned = Normalize.standardLandmarks(landmarks.toString());
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, learned, 1e-9);
        assertEquals(1.0, learned[0]);
        assertEquals(100.0, learned[learned.length - 1]);

        Image in = input(ANATOMICAL);
        assertEncoded(out, OutputFormat.NIFTI, org.medprep.ops.NyulStandardization.standardize(in, pcs, learned,
                org.medprep.ops.ForegroundMask.Kind.ABOVE_MEAN).image(), "anatomical.nii");
        JsonNode p = lastStep(out, "Normalize").get("parameters");
        assertEquals("Nyul Histogram Standardization", p.get("Method").asText());
        assertEquals(learned.length, p.get("Standard Landmarks").size());
        assertEquals(learned[3], p.get("Standard Landmarks").get(3).asDouble());
        assertEquals(pcs.length, p.get("Image Landmarks").size());

        // The tool refuses a validation or test folder.
        Path test = Files.createDirectories(tmp.resolve("out/test"));
        Files.copy(CH2, test.resolve("ch2.nii.gz"));
        AssertionError refused = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> org.medprep.testutil.Python.runTool("learn_nyul_landmarks.py", test.toString()));
        assertTrue(refused.getMessage().contains("training split only"), refused.getMessage());
    }

    @Test
    void methodValuesAreTheEnumConstants() {
        runner.setProperty(Normalize.METHOD, "Min-Max");
        runner.assertNotValid();
        for (Normalize.Method m : Normalize.Method.values()) {
            runner.setProperty(Normalize.METHOD, m.getValue());
            if (m != Normalize.Method.Z_SCORE_FIXED && m != Normalize.Method.NYUL) {
                runner.assertValid();
            }
        }
    }
}
