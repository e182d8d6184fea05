/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.medprep.testutil.ProcessorChecks.assertAllFailed;
import static org.medprep.testutil.ProcessorChecks.assertOneEventPerFlowFile;
import static org.medprep.testutil.ProcessorChecks.assertParameters;
import static org.medprep.testutil.ProcessorChecks.decode;
import static org.medprep.testutil.ProcessorChecks.input;
import static org.medprep.testutil.ProcessorChecks.lastStep;
import static org.medprep.testutil.ProcessorChecks.nifti;
import static org.medprep.testutil.ProcessorChecks.niftiDescrip;
import static org.medprep.testutil.ProcessorChecks.npy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.nifi.provenance.ProvenanceEventType;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.medprep.ops.HounsfieldWindowTest;
import org.medprep.testutil.Python;
import org.medprep.testutil.RealFiles;

/** ClipHU on real CT files against pydicom + NumPy computed in the same run; refusals with readable reasons. */
class ClipHUTest {

    private static final Path CT_SMALL = RealFiles.pydicom("CT_small.dcm");
    private static final Path CT5N = RealFiles.pydicom("dicomdirtests/98892001/CT5N/2062");
    private static final Path MR = RealFiles.pydicom("MR_small.dcm");

    @TempDir
    Path tmp;

    private TestRunner runner;

    @BeforeEach
    void setUp() {
        runner = TestRunners.newTestRunner(ClipHU.class);
    }

    private static Map<String, Object> params(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    /** name, file, properties, reference arguments, exact, recorded parameters (before slope/intercept). */
    static Stream<Arguments> modes() {
        return Stream.of(
                Arguments.of("defaults: clip -1000..1000 HU float32", CT_SMALL, Map.of(),
                        List.of("clip", "-1000", "1000", "hu_f32"), true,
                        params("Intensity Mapping", "Clip to HU Range", "Minimum HU", -1000.0, "Maximum HU", 1000.0)),
                Arguments.of("clip -500..200 int16", CT5N,
                        Map.of("Minimum HU", "-500", "Maximum HU", "200", "Output Values", "HU_INT16"),
                        List.of("clip", "-500", "200", "hu_i16"), true,
                        params("Intensity Mapping", "Clip to HU Range", "Minimum HU", -500.0, "Maximum HU", 200.0)),
                Arguments.of("clip to [0, 1]", CT_SMALL, Map.of("Output Values", "UNIT_FLOAT32"),
                        List.of("clip", "-1000", "1000", "unit"), false,
                        params("Intensity Mapping", "Clip to HU Range", "Minimum HU", -1000.0, "Maximum HU", 1000.0)),
                Arguments.of("preset soft tissue int16", CT_SMALL,
                        Map.of("Intensity Mapping", "PRESET", "HU Preset", "SOFT_TISSUE", "Output Values", "HU_INT16"),
                        List.of("clip", "-200", "400", "hu_i16"), true,
                        params("Intensity Mapping", "Preset HU Range", "HU Preset", "Soft Tissue", "Minimum HU",
                                -200.0, "Maximum HU", 400.0)),
                Arguments.of("preset bone [0, 1]", CT_SMALL,
                        Map.of("Intensity Mapping", "PRESET", "HU Preset", "BONE", "Output Values", "UNIT_FLOAT32"),
                        List.of("clip", "-200", "3000", "unit"), false,
                        params("Intensity Mapping", "Preset HU Range", "HU Preset", "Bone", "Minimum HU", -200.0,
                                "Maximum HU", 3000.0)),
                Arguments.of("preset lung float32", CT5N, Map.of("Intensity Mapping", "PRESET", "HU Preset", "LUNG"),
                        List.of("clip", "-1500", "600", "hu_f32"), true,
                        params("Intensity Mapping", "Preset HU Range", "HU Preset", "Lung", "Minimum HU", -1500.0,
                                "Maximum HU", 600.0)),
                Arguments.of("window brain (default) [0, 1]", CT_SMALL,
                        Map.of("Intensity Mapping", "WINDOW", "Output Values", "UNIT_FLOAT32"),
                        List.of("window", "40", "80", "unit"), false,
                        params("Intensity Mapping", "Display Window", "Window", "Brain", "Window Center", 40.0,
                                "Window Width", 80.0)),
                Arguments.of("window lung [0, 1]", CT5N,
                        Map.of("Intensity Mapping", "WINDOW", "Window", "LUNG", "Output Values", "UNIT_FLOAT32"),
                        List.of("window", "-600", "1500", "unit"), false,
                        params("Intensity Mapping", "Display Window", "Window", "Lung", "Window Center", -600.0,
                                "Window Width", 1500.0)),
                Arguments.of("window mediastinum int16", CT_SMALL,
                        Map.of("Intensity Mapping", "WINDOW", "Window", "MEDIASTINUM", "Output Values", "HU_INT16"),
                        List.of("window", "50", "350", "hu_i16"), true,
                        params("Intensity Mapping", "Display Window", "Window", "Mediastinum", "Window Center", 50.0,
                                "Window Width", 350.0)),
                Arguments.of("window custom 123.5/701 [0, 1]", CT_SMALL,
                        Map.of("Intensity Mapping", "WINDOW", "Window", "CUSTOM", "Window Center", "123.5",
                                "Window Width", "701", "Output Values", "UNIT_FLOAT32"),
                        List.of("window", "123.5", "701", "unit"), false,
                        params("Intensity Mapping", "Display Window", "Window", "Custom", "Window Center", 123.5,
                                "Window Width", 701.0)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void eachModeEqualsReference(String name, Path file, Map<String, String> properties, List<String> refArgs,
                                 boolean exact, Map<String, Object> parameters) throws Exception {
        properties.forEach(runner::setProperty);
        runner.assertValid();
        runner.enqueue(file, Map.of("filename", file.getFileName().toString()));
        runner.run();
        runner.assertAllFlowFilesTransferred(ClipHU.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ClipHU.REL_SUCCESS).get(0);
        out.assertAttributeEquals("mime.type", "application/x-nifti");
        Image result = decode(out.toByteArray());
        assertReference(file, result, refArgs, exact);
        // Identity Modality LUT afterwards, so later steps see HU (or [0, 1]) as stored values.
        assertEquals(1, result.metadata().rescaleSlope());
        assertEquals(0, result.metadata().rescaleIntercept());
        assertTrue(niftiDescrip(out.toByteArray()).startsWith("medprep modality=CT photometric=MONOCHROME2 bits="
                + (result.type() == VoxelType.INT16 ? 16 : 32)), niftiDescrip(out.toByteArray()));
        Map<String, Object> expected = new LinkedHashMap<>(parameters);
        expected.put("Output Values", switch (properties.getOrDefault("Output Values", "HU_FLOAT32")) {
            case "HU_INT16" -> "HU (int16)";
            case "UNIT_FLOAT32" -> "Scaled to [0, 1] (float32)";
            default -> "HU (float32)";
        });
        expected.put("Accept Non-CT Images", false);
        expected.put("Metal Threshold HU", 3000.0);
        expected.put("Rescale Slope", 1.0);
        expected.put("Rescale Intercept", -1024.0);
        expected.put("Color Images", "Keep Channels");
        expected.put("Output Format", "NIfTI");
        assertParameters(lastStep(out, "ClipHU"), expected);
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, List.of(out));
        // These slices hold no metal (HU at most 1167).
        out.assertAttributeEquals("medprep.metal.voxels", "0");
        out.assertAttributeEquals("medprep.metal.regions", "0");
        out.assertAttributeEquals("medprep.metal.fraction", "0.0");
        out.assertAttributeEquals("medprep.metal.severity", "none");
    }

    @Test
    void metalIsCountedOnHuBeforeClipping() throws Exception {
        // A threshold of 400 HU on CT_small stands in for metal (the slice has none above 3000 HU); the clip to
        // -1000..200 HU would hide every such voxel, so the count shows it was taken before clipping.
        runner.setProperty(ClipHU.METAL_THRESHOLD, "400");
        runner.setProperty(ClipHU.MAXIMUM_HU, "200");
        runner.enqueue(CT_SMALL);
        runner.run();
        MockFlowFile out = runner.getFlowFilesForRelationship(ClipHU.REL_SUCCESS).get(0);
        JsonNode ref = Python.json("metal_reference.py", CT_SMALL.toString(), "400");
        assertEquals(700, ref.get("voxels").asLong());
        out.assertAttributeEquals("medprep.metal.voxels", ref.get("voxels").asText());
        out.assertAttributeEquals("medprep.metal.regions", ref.get("regions").asText());
        assertEquals(ref.get("fraction").asDouble(), Double.parseDouble(out.getAttribute("medprep.metal.fraction")));
        out.assertAttributeEquals("medprep.metal.severity", "severe");
        assertEquals(400.0, lastStep(out, "ClipHU").get("parameters").get("Metal Threshold HU").asDouble());
    }

    @Test
    void stackedWindowsGiveOneReferenceWindowPerChannel() throws Exception {
        runner.setProperty(ClipHU.INTENSITY_MAPPING, "STACK");
        runner.setProperty(ClipHU.STACKED_WINDOWS, "Brain, subdural, -600/1500");
        runner.setProperty(ClipHU.OUTPUT_VALUES, "UNIT_FLOAT32");
        runner.assertValid();
        runner.enqueue(CT_SMALL, Map.of("filename", "ct.dcm"));
        runner.run();
        runner.assertAllFlowFilesTransferred(ClipHU.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ClipHU.REL_SUCCESS).get(0);
        Image stack = decode(out.toByteArray());
        assertEquals(3, stack.channels());
        String[][] windows = {{"40", "80"}, {"80", "200"}, {"-600", "1500"}};
        for (int c = 0; c < 3; c++) {
            Image channel = Image.allocate(stack.type(), stack.width(), stack.height(), stack.depth(), 1,
                    stack.geometry(), stack.metadata());
            for (int i = 0; i < channel.size(); i++) {
                channel.set(i, stack.get(i * 3 + c));
            }
            assertReference(CT_SMALL, channel, List.of("window", windows[c][0], windows[c][1], "unit"), false);
        }
        JsonNode recorded = lastStep(out, "ClipHU").get("parameters").get("Windows");
        assertEquals(3, recorded.size());
        assertEquals("Brain", recorded.get(0).get("Window").asText());
        assertEquals("Subdural", recorded.get(1).get("Window").asText());
        assertEquals("Custom", recorded.get(2).get("Window").asText());
        assertEquals(-600.0, recorded.get(2).get("Window Center").asDouble());
        assertEquals(1500.0, recorded.get(2).get("Window Width").asDouble());
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, List.of(out));

        runner.setProperty(ClipHU.STACKED_WINDOWS, "Brain, Brian");
        runner.assertNotValid();
        runner.setProperty(ClipHU.STACKED_WINDOWS, "40/0.5");
        runner.assertNotValid();
        runner.setProperty(ClipHU.STACKED_WINDOWS, " , ");
        runner.assertNotValid();
    }

    private void assertReference(Path file, Image result, List<String> refArgs, boolean exact) throws Exception {
        Path raw = tmp.resolve("ref.raw");
        String[] args = Stream.concat(Stream.of(file.toString(), raw.toString()), refArgs.stream())
                .toArray(String[]::new);
        JsonNode info = Python.json("hu_reference.py", args);
        HounsfieldWindowTest.assertReference(result, raw, info, exact, file.getFileName() + " " + refArgs);
    }

    @Test
    void int16NpyOutputAndNiftiInputGiveTheSameHu() throws Exception {
        runner.setProperty("Output Values", "HU_INT16");
        runner.setProperty("Output Format", "NPY");
        // The same CT as DICOM and as the NIfTI a medprep step writes (modality and Modality LUT in the header).
        byte[] asNifti = nifti(input(CT_SMALL));
        runner.enqueue(CT_SMALL, Map.of("filename", "ct.dcm"));
        runner.enqueue(asNifti, Map.of("filename", "ct.nii"));
        runner.run(2);
        runner.assertAllFlowFilesTransferred(ClipHU.REL_SUCCESS, 2);
        List<MockFlowFile> out = runner.getFlowFilesForRelationship(ClipHU.REL_SUCCESS);
        out.get(0).assertAttributeEquals("filename", "ct.npy");
        assertEquals("<i2", npy(out.get(0).toByteArray()).descr());
        out.get(0).assertContentEquals(out.get(1).toByteArray());
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, out);
    }

    @Test
    void nonCtIsRefusedUnlessAccepted() throws Exception {
        byte[] mr = Files.readAllBytes(MR);
        runner.enqueue(mr, Map.of("filename", "mr.dcm"));
        runner.run();
        assertAllFailed(runner, ClipHU.REL_FAILURE, "ClipHU", List.of(mr), Pattern.compile(
                "^The modality is MR, not CT, so its values are not Hounsfield units \\(set Accept Non-CT Images "
                        + "to true to apply its Modality LUT anyway\\)\\.$"));

        TestRunner accepting = TestRunners.newTestRunner(ClipHU.class);
        accepting.setProperty(ClipHU.ACCEPT_NON_CT, "true");
        accepting.setProperty(ClipHU.MINIMUM_HU, "0");
        accepting.setProperty(ClipHU.MAXIMUM_HU, "500");
        accepting.enqueue(mr, Map.of("filename", "mr.dcm"));
        accepting.run();
        accepting.assertAllFlowFilesTransferred(ClipHU.REL_SUCCESS, 1);
        Image stored = input(MR);
        Image out = decode(accepting.getFlowFilesForRelationship(ClipHU.REL_SUCCESS).get(0).toByteArray());
        double slope = stored.metadata().rescaleSlope();
        double intercept = stored.metadata().rescaleIntercept();
        for (int i = 0; i < stored.size(); i++) {
            float expected = (float) Math.min(500, Math.max(0, stored.get(i) * slope + intercept));
            assertEquals(expected, (float) out.get(i), "sample " + i);
        }
    }

    @Test
    void ctWithoutModalityLutOrWithAnotherRescaleTypeIsRefused() throws Exception {
        byte[] noLut = variant("drop-lut");
        byte[] us = variant("rescale-type=US");
        runner.enqueue(noLut, Map.of("filename", "nolut.dcm"));
        runner.run();
        assertAllFailed(runner, ClipHU.REL_FAILURE, "ClipHU", List.of(noLut), Pattern.compile(
                "^This CT has no Modality LUT \\(RescaleSlope and RescaleIntercept are required\\), so its stored "
                        + "values cannot be converted to Hounsfield units\\.$"));

        TestRunner other = TestRunners.newTestRunner(ClipHU.class);
        other.enqueue(us, Map.of("filename", "us.dcm"));
        other.run();
        assertAllFailed(other, ClipHU.REL_FAILURE, "ClipHU", List.of(us), Pattern.compile(
                "^The RescaleType is US, not HU, so the Modality LUT does not give Hounsfield units\\.$"));

        // RescaleType HU is fine and gives the same result as the original file.
        TestRunner hu = TestRunners.newTestRunner(ClipHU.class);
        hu.enqueue(variant("rescale-type=HU"));
        hu.enqueue(CT_SMALL);
        hu.run(2);
        hu.assertAllFlowFilesTransferred(ClipHU.REL_SUCCESS, 2);
        List<MockFlowFile> out = hu.getFlowFilesForRelationship(ClipHU.REL_SUCCESS);
        out.get(0).assertContentEquals(out.get(1).toByteArray());
    }

    private byte[] variant(String change) throws Exception {
        Path file = tmp.resolve(change.replace('=', '-') + ".dcm");
        Python.json("hu_reference.py", CT_SMALL.toString(), file.toString(), "variant", change);
        return Files.readAllBytes(file);
    }

    @Test
    void propertiesAreValidated() {
        runner.setProperty(ClipHU.MINIMUM_HU, "100");
        runner.setProperty(ClipHU.MAXIMUM_HU, "100");
        runner.assertNotValid();
        runner.setProperty(ClipHU.MAXIMUM_HU, "abc");
        runner.assertNotValid();
        runner.setProperty(ClipHU.MAXIMUM_HU, "101");
        runner.assertValid();
        runner.setProperty(ClipHU.INTENSITY_MAPPING, "WINDOW");
        runner.setProperty(ClipHU.WINDOW, "CUSTOM");
        runner.assertNotValid(); // center and width required
        runner.setProperty(ClipHU.WINDOW_CENTER, "40");
        runner.setProperty(ClipHU.WINDOW_WIDTH, "0.5");
        runner.assertNotValid();
        runner.setProperty(ClipHU.WINDOW_WIDTH, "1");
        runner.assertValid();
        runner.setProperty(ClipHU.WINDOW, "STROKE");
        runner.removeProperty(ClipHU.WINDOW_WIDTH);
        runner.assertValid();
    }

    @Test
    void int16OutsideItsRangeIsRefusedWithReason() throws Exception {
        runner.setProperty(ClipHU.MINIMUM_HU, "-40000");
        runner.setProperty(ClipHU.OUTPUT_VALUES, "HU_INT16");
        byte[] ct = Files.readAllBytes(CT_SMALL);
        runner.enqueue(ct);
        runner.run();
        assertAllFailed(runner, ClipHU.REL_FAILURE, "ClipHU", List.of(ct),
                Pattern.compile("^Int16 output needs an HU range within -32768\\.\\.32767; got -40000\\.0\\.\\.1000\\.0\\.$"));
    }

    @Test
    void normalizeAfterClipHuSeesHounsfieldUnits() throws Exception {
        runner.setProperty(ClipHU.OUTPUT_VALUES, "HU_INT16");
        runner.enqueue(CT_SMALL, Map.of("filename", "ct.dcm"));
        runner.run();
        MockFlowFile clipped = runner.getFlowFilesForRelationship(ClipHU.REL_SUCCESS).get(0);
        TestRunner normalize = TestRunners.newTestRunner(Normalize.class);
        normalize.setProperty(Normalize.METHOD, Normalize.Method.Z_SCORE_FIXED.getValue());
        normalize.setProperty(Normalize.MEAN, "-100");
        normalize.setProperty(Normalize.STD, "400");
        normalize.enqueue(clipped.toByteArray(), clipped.getAttributes());
        normalize.run();
        Image z = decode(normalize.getFlowFilesForRelationship(Normalize.REL_SUCCESS).get(0).toByteArray());
        Image stored = input(CT_SMALL);
        for (int i = 0; i < stored.size(); i++) {
            double hu = Math.min(1000, Math.max(-1000, stored.get(i) - 1024));
            assertEquals((float) ((hu + 100) / 400), (float) z.get(i), 1e-6, "sample " + i);
        }
    }
}
