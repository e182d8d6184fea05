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
import static org.medprep.testutil.ProcessorChecks.niftiDescrip;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import org.apache.nifi.provenance.ProvenanceEventType;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.medprep.image.Image;
import org.medprep.io.OutputFormat;
import org.medprep.ops.Letterbox;
import org.medprep.testutil.RealFiles;

class ResizeWithPaddingTest {

    private TestRunner runner;

    @BeforeEach
    void setUp() {
        runner = TestRunners.newTestRunner(ResizeWithPadding.class);
    }

    @ParameterizedTest
    @EnumSource(OutputFormat.class)
    void outputIsLetterboxApplyInEveryFormat(OutputFormat format) throws Exception {
        Path camera = RealFiles.skimage("camera.png");
        runner.setProperty(ResizeWithPadding.WIDTH, "100");
        runner.setProperty(ResizeWithPadding.HEIGHT, "60");
        runner.setProperty(ResizeWithPadding.PADDING_VALUE, "17");
        runner.setProperty(ResizeWithPadding.INTERPOLATION, "AREA");
        if (format != OutputFormat.NIFTI) {
            runner.setProperty("Output Format", format.name());
        }
        runner.enqueue(camera, Map.of("filename", "camera.png"));
        runner.run();

        runner.assertAllFlowFilesTransferred(ResizeWithPadding.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ResizeWithPadding.REL_SUCCESS).get(0);
        Letterbox.Result expected = Letterbox.apply(input(camera), 100, 60, 17, Letterbox.Interpolation.AREA);
        assertEncoded(out, format, expected.image(), "camera" + format.extension());
        // 512 x 512 into 100 x 60: scale 60/512, resized 60 x 60, centred: left 20, top 0, padding 17 at x 0.
        out.assertAttributeEquals("medprep.letterbox.scale", Double.toString(60.0 / 512));
        out.assertAttributeEquals("medprep.letterbox.offset.x", "20");
        out.assertAttributeEquals("medprep.letterbox.offset.y", "0");
        assertEquals(17, expected.image().get(0));

        JsonNode step = lastStep(out, "ResizeWithPadding");
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("Width", 100);
        parameters.put("Height", 60);
        parameters.put("Padding Value", 17.0);
        parameters.put("Interpolation", "AREA");
        parameters.put("Color Images", "Keep Channels");
        parameters.put("Output Format", format.displayName());
        assertParameters(step, parameters);
        assertEquals(1, org.medprep.testutil.ProcessorChecks.history(out).size());
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, List.of(out));
    }

    @Test
    void ctIntoNonSquareTargetHasScaleOffsetsSizeAndSpacing() throws Exception {
        Path ct = RealFiles.pydicom("CT_small.dcm");
        Image in = input(ct);
        runner.setProperty(ResizeWithPadding.WIDTH, "300");
        runner.setProperty(ResizeWithPadding.HEIGHT, "200");
        runner.enqueue(ct, Map.of("filename", "CT_small.dcm"));
        runner.run();

        runner.assertAllFlowFilesTransferred(ResizeWithPadding.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ResizeWithPadding.REL_SUCCESS).get(0);
        int w = in.width();
        int h = in.height();
        double scale = Math.min(200.0 / h, 300.0 / w);
        int newW = (int) Math.floor(w * scale);
        int newH = (int) Math.floor(h * scale);
        out.assertAttributeEquals("medprep.letterbox.scale", Double.toString(scale));
        out.assertAttributeEquals("medprep.letterbox.offset.x", Integer.toString((300 - newW) / 2));
        out.assertAttributeEquals("medprep.letterbox.offset.y", Integer.toString((200 - newH) / 2));
        out.assertAttributeEquals("medprep.width", "300");
        out.assertAttributeEquals("medprep.height", "200");
        String[] spacing = out.getAttribute("medprep.spacing").split(",");
        double[] s = in.geometry().spacing();
        assertEquals(s[0] * w / newW, Double.parseDouble(spacing[0]), 1e-12);
        assertEquals(s[1] * h / newH, Double.parseDouble(spacing[1]), 1e-12);
        assertEquals(s[2], Double.parseDouble(spacing[2]), 1e-12);

        Letterbox.Result expected = Letterbox.apply(in, 300, 200, 0, Letterbox.Interpolation.LINEAR);
        assertEncoded(out, OutputFormat.NIFTI, expected.image(), "CT_small.nii");
        // The NIfTI carries the CT's modality and bit depth to the next step.
        String descrip = niftiDescrip(out.toByteArray());
        assertTrue(descrip.startsWith("medprep modality=CT photometric=MONOCHROME2 bits="), descrip);
        assertEquals(in.metadata().bitsStored(), decode(out.toByteArray()).metadata().bitsStored());
    }

    @ParameterizedTest
    @EnumSource(OutputFormat.class)
    void nonSquareColourJpegKeepsAspect(OutputFormat format) throws Exception {
        Path hubble = RealFiles.skimage("hubble_deep_field.jpg");
        Image in = input(hubble);
        assertEquals(3, in.channels());
        runner.setProperty(ResizeWithPadding.WIDTH, "224");
        runner.setProperty(ResizeWithPadding.HEIGHT, "224");
        runner.setProperty("Output Format", format.name());
        runner.enqueue(hubble, Map.of("filename", "hubble_deep_field.jpg"));
        runner.run();

        runner.assertAllFlowFilesTransferred(ResizeWithPadding.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ResizeWithPadding.REL_SUCCESS).get(0);
        int w = in.width();
        int h = in.height();
        assertTrue(w != h, "the test image is not square");
        double scale = Math.min(224.0 / h, 224.0 / w);
        int newW = (int) Math.floor(w * scale);
        int newH = (int) Math.floor(h * scale);
        out.assertAttributeEquals("medprep.letterbox.scale", Double.toString(scale));
        out.assertAttributeEquals("medprep.letterbox.offset.x", Integer.toString((224 - newW) / 2));
        out.assertAttributeEquals("medprep.letterbox.offset.y", Integer.toString((224 - newH) / 2));
        assertTrue(w > h ? (224 - newH) / 2 > 0 : (224 - newW) / 2 > 0, "padding on the short side");
        String[] spacing = out.getAttribute("medprep.spacing").split(",");
        assertEquals((double) w / newW, Double.parseDouble(spacing[0]), 1e-12);
        assertEquals((double) h / newH, Double.parseDouble(spacing[1]), 1e-12);
        assertEncoded(out, format,
                Letterbox.apply(in, 224, 224, 0, Letterbox.Interpolation.LINEAR).image(),
                "hubble_deep_field" + format.extension());
    }

    @Test
    void monochrome1CrComesOutInvertedAsMonochrome2() throws Exception {
        Path cr = RealFiles.pydicom("dicomdirtests/77654033/CR1/6154");
        Image stored = decode(cr);
        assertEquals("MONOCHROME1", stored.metadata().photometricInterpretation());
        assertEquals(12, stored.metadata().bitsStored());
        assertEquals(16, stored.width());
        runner.setProperty(ResizeWithPadding.WIDTH, "32");
        runner.setProperty(ResizeWithPadding.HEIGHT, "32");
        runner.setProperty(ResizeWithPadding.INTERPOLATION, "NEAREST");
        runner.enqueue(cr, Map.of("filename", "6154"));
        runner.run();

        runner.assertAllFlowFilesTransferred(ResizeWithPadding.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ResizeWithPadding.REL_SUCCESS).get(0);
        out.assertAttributeEquals("filename", "6154.nii");
        out.assertAttributeEquals("mime.type", "application/x-nifti");
        byte[] nii = out.toByteArray();
        assertEquals("medprep modality=CR photometric=MONOCHROME2 bits=12", niftiDescrip(nii));
        Image result = decode(nii);
        assertEquals("MONOCHROME2", result.metadata().photometricInterpretation());
        assertEquals(12, result.metadata().bitsStored());
        assertEquals(32, result.width());
        assertEquals(32, result.height());
        boolean anyNonZero = false;
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                double v = stored.get(stored.index(x / 2, y / 2, 0, 0));
                assertEquals(4095 - v, result.get(result.index(x, y, 0, 0)), "pixel " + x + "," + y);
                anyNonZero |= v != 0;
            }
        }
        assertTrue(anyNonZero);
    }

    @Test
    void unreadableContentRoutesToFailureUnchanged() throws Exception {
        byte[] random = new byte[2048];
        new Random(3).nextBytes(random);
        byte[] int32Nifti = org.medprep.testutil.ProcessorChecks.int32Nifti();
        runner.enqueue(random);
        runner.enqueue(int32Nifti);
        runner.run(2);
        assertAllFailed(runner, ResizeWithPadding.REL_FAILURE, "ResizeWithPadding", List.of(random, int32Nifti),
                Pattern.compile("not a supported image format|int32"));
        List<MockFlowFile> failed = runner.getFlowFilesForRelationship(ResizeWithPadding.REL_FAILURE);
        assertTrue(failed.get(0).getAttribute("medprep.failure.reason").contains("not a supported image format"));
        assertEquals("Letterbox supports uint8, uint16, int16 and float32 images, not int32.",
                failed.get(1).getAttribute("medprep.failure.reason"));
    }

    /** Three CT_small slices (as read, +100, mirrored) stacked into an int16 NIfTI volume with 2.5 mm slices. */
    private static byte[] ctVolume() throws Exception {
        Image ct = input(RealFiles.pydicom("CT_small.dcm"));
        int w = ct.width();
        int h = ct.height();
        Image vol = Image.allocate(ct.type(), w, h, 3, 1,
                ct.geometry().withSpacing(new double[]{ct.geometry().spacing()[0], ct.geometry().spacing()[1], 2.5}),
                ct.metadata());
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double v = ct.get(ct.index(x, y, 0, 0));
                vol.set(vol.index(x, y, 0, 0), v);
                vol.set(vol.index(x, y, 1, 0), v + 100);
                vol.set(vol.index(x, y, 2, 0), ct.get(ct.index(w - 1 - x, y, 0, 0)));
            }
        }
        return org.medprep.testutil.ProcessorChecks.nifti(vol);
    }

    @Test
    void volumeIsLetterboxedSliceBySliceAndNpyShapeIsZYX() throws Exception {
        byte[] volume = ctVolume();
        runner.setProperty(ResizeWithPadding.WIDTH, "64");
        runner.setProperty(ResizeWithPadding.HEIGHT, "48");
        runner.setProperty("Output Format", "NPY");
        runner.enqueue(volume, Map.of("filename", "vol.nii"));
        runner.run();
        runner.assertAllFlowFilesTransferred(ResizeWithPadding.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ResizeWithPadding.REL_SUCCESS).get(0);
        Image in = input(volume);
        assertEquals(3, in.depth());
        Image expected = Letterbox.apply(in, 64, 48, 0, Letterbox.Interpolation.LINEAR).image();
        assertEncoded(out, OutputFormat.NPY, expected, "vol.npy");
        assertEquals(List.of(3, 48, 64), java.util.Arrays.stream(
                org.medprep.testutil.ProcessorChecks.npy(out.toByteArray()).shape()).boxed().toList());
        out.assertAttributeEquals("medprep.depth", "3");
        assertEquals(2.5, Double.parseDouble(out.getAttribute("medprep.spacing").split(",")[2]));
        // Slice 1 is slice 0 + 100 everywhere inside the resized area (LINEAR interpolation is affine).
        int left = Integer.parseInt(out.getAttribute("medprep.letterbox.offset.x"));
        double a = expected.get(expected.index(left + 10, 24, 0, 0));
        double b = expected.get(expected.index(left + 10, 24, 1, 0));
        assertEquals(a + 100, b, 1.0);

        TestRunner png = TestRunners.newTestRunner(ResizeWithPadding.class);
        png.setProperty("Output Format", "PNG");
        png.enqueue(volume);
        png.run();
        assertAllFailed(png, ResizeWithPadding.REL_FAILURE, "ResizeWithPadding", List.of(volume),
                Pattern.compile("^PNG output needs a 2D image"));
    }
}
