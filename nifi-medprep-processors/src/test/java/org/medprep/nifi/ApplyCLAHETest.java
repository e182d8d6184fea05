/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.medprep.testutil.ProcessorChecks.assertAllFailed;
import static org.medprep.testutil.ProcessorChecks.assertEncoded;
import static org.medprep.testutil.ProcessorChecks.assertOneEventPerFlowFile;
import static org.medprep.testutil.ProcessorChecks.assertParameters;
import static org.medprep.testutil.ProcessorChecks.assertSamePixels;
import static org.medprep.testutil.ProcessorChecks.decode;
import static org.medprep.testutil.ProcessorChecks.history;
import static org.medprep.testutil.ProcessorChecks.input;
import static org.medprep.testutil.ProcessorChecks.lastStep;
import static org.medprep.testutil.ProcessorChecks.nifti;
import static org.medprep.testutil.ProcessorChecks.niftiDescrip;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import org.apache.nifi.components.AllowableValue;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.provenance.ProvenanceEventType;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.io.OutputFormat;
import org.medprep.ops.Clahe;
import org.medprep.ops.ImageStats;
import org.medprep.testutil.RealFiles;

class ApplyCLAHETest {

    private TestRunner runner;

    @BeforeEach
    void setUp() {
        runner = TestRunners.newTestRunner(ApplyCLAHE.class);
    }

    private static final String DEFAULT_BINS = "256 bins over the Bits Stored range";

    /** The recorded parameters: extra (e.g. "Bits Stored") come after Histogram Bins, before Output Format. */
    private static Map<String, Object> parameters(double clip, int columns, int rows, String bins, OutputFormat format,
                                                  Object... extra) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("Clip Limit", clip);
        p.put("Tile Grid Columns", columns);
        p.put("Tile Grid Rows", rows);
        p.put("Histogram Bins", bins);
        for (int i = 0; i < extra.length; i += 2) {
            p.put((String) extra[i], extra[i + 1]);
        }
        p.put("Color Images", "Keep Channels");
        p.put("Output Format", format.displayName());
        return p;
    }

    /** camera.png × 257 as a uint16 NIfTI with BitsStored 16: a 16-bit image with real image content. */
    private static byte[] camera16() throws Exception {
        Image cam = input(RealFiles.skimage("camera.png"));
        Image u16 = Image.allocate(VoxelType.UINT16, cam.width(), cam.height(), 1, 1, cam.geometry(),
                ImageMetadata.picture("PNG", 16, "MONOCHROME2"));
        for (int i = 0; i < cam.size(); i++) {
            u16.set(i, cam.get(i) * 257);
        }
        return nifti(u16);
    }

    @ParameterizedTest
    @EnumSource(OutputFormat.class)
    void eightBitEqualsClaheApplyInEveryFormat(OutputFormat format) throws Exception {
        Path camera = RealFiles.skimage("camera.png");
        runner.setProperty("Output Format", format.name());
        runner.enqueue(camera, Map.of("filename", "camera.png"));
        runner.run();
        runner.assertAllFlowFilesTransferred(ApplyCLAHE.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ApplyCLAHE.REL_SUCCESS).get(0);
        Image expected = Clahe.apply(input(camera), 2.0, 8, 8, Clahe.Bins.BITS_STORED_256);
        assertEquals(VoxelType.UINT8, expected.type());
        // 8-bit input: the default binning is OpenCV's own (ops test: bit-identical to python3-opencv).
        assertSamePixels(Clahe.apply(input(camera), 2.0, 8, 8, Clahe.Bins.OPENCV_NATIVE), expected);
        assertEncoded(out, format, expected, "camera" + format.extension());
        assertParameters(lastStep(out, "ApplyCLAHE"), parameters(2.0, 8, 8, DEFAULT_BINS, format, "Bits Stored", 8));
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, List.of(out));
    }

    @Test
    void openCvNativeSixteenBitEqualsClaheApplyAndRecordsBitsStored16() throws Exception {
        byte[] cam16 = camera16();
        Path cr = RealFiles.pydicom("dicomdirtests/77654033/CR1/6154");
        runner.setProperty(ApplyCLAHE.HISTOGRAM_BINS, ApplyCLAHE.HistogramBinning.OPENCV_NATIVE);
        runner.setProperty(ApplyCLAHE.CLIP_LIMIT, "3.5");
        runner.setProperty(ApplyCLAHE.TILE_COLUMNS, "4");
        runner.setProperty(ApplyCLAHE.TILE_ROWS, "2");
        runner.enqueue(cam16, Map.of("filename", "camera16.nii"));
        runner.enqueue(cr, Map.of("filename", "cr"));
        runner.run(2);
        runner.assertAllFlowFilesTransferred(ApplyCLAHE.REL_SUCCESS, 2);
        List<MockFlowFile> outs = runner.getFlowFilesForRelationship(ApplyCLAHE.REL_SUCCESS);

        Image expectedCam = Clahe.apply(input(cam16), 3.5, 4, 2, Clahe.Bins.OPENCV_NATIVE);
        assertEquals(VoxelType.UINT16, expectedCam.type());
        assertEncoded(outs.get(0), OutputFormat.NIFTI, expectedCam, "camera16.nii");
        Image expectedCr = Clahe.apply(input(cr), 3.5, 4, 2, Clahe.Bins.OPENCV_NATIVE);
        assertEncoded(outs.get(1), OutputFormat.NIFTI, expectedCr, "cr.nii");
        assertEquals("medprep modality=OT photometric=MONOCHROME2 bits=16", niftiDescrip(outs.get(0).toByteArray()));
        // The 12-bit MONOCHROME1 CR: inverted, equalized over 65536 bins, so now 16 bits.
        assertEquals("medprep modality=CR photometric=MONOCHROME2 bits=16", niftiDescrip(outs.get(1).toByteArray()));
        assertEquals(16, decode(outs.get(1).toByteArray()).metadata().bitsStored());
        assertParameters(lastStep(outs.get(0), "ApplyCLAHE"), parameters(3.5, 4, 2, "OpenCV native",
                OutputFormat.NIFTI));
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, outs);
    }

    @Test
    void defaultBinsTurnTwelveAndSixteenBitIntoEightBitAndRecordBitsStored() throws Exception {
        byte[] cam16 = camera16();
        Path cr = RealFiles.pydicom("dicomdirtests/77654033/CR1/6154");
        runner.setProperty(ApplyCLAHE.CLIP_LIMIT, "3.5");
        runner.setProperty(ApplyCLAHE.TILE_COLUMNS, "4");
        runner.setProperty(ApplyCLAHE.TILE_ROWS, "2");
        runner.enqueue(cam16, Map.of("filename", "camera16.nii"));
        runner.enqueue(cr, Map.of("filename", "cr"));
        runner.run(2);
        runner.assertAllFlowFilesTransferred(ApplyCLAHE.REL_SUCCESS, 2);
        List<MockFlowFile> outs = runner.getFlowFilesForRelationship(ApplyCLAHE.REL_SUCCESS);

        // camera x 257 >> 8 is camera itself: the 16-bit image gives the 8-bit photograph's result.
        Image expectedCam = Clahe.apply(input(RealFiles.skimage("camera.png")), 3.5, 4, 2, Clahe.Bins.OPENCV_NATIVE);
        assertEncoded(outs.get(0), OutputFormat.NIFTI, expectedCam, "camera16.nii");
        // The 12-bit MONOCHROME1 CR: inverted once (4095 - v), then bin (4095 - v) >> 4, then 8-bit CLAHE.
        Image stored = decode(Files.readAllBytes(cr));
        assertEquals("MONOCHROME1", stored.metadata().photometricInterpretation());
        assertEquals(12, stored.metadata().bitsStored());
        Image inverted8 = Image.allocate(VoxelType.UINT8, stored.width(), stored.height(), 1, 1, stored.geometry(),
                ImageMetadata.picture("PNG", 8, "MONOCHROME2"));
        for (int i = 0; i < stored.size(); i++) {
            inverted8.set(i, (4095 - (int) stored.get(i)) >> 4);
        }
        Image expectedCr = Clahe.apply(inverted8, 3.5, 4, 2, Clahe.Bins.OPENCV_NATIVE);
        assertEncoded(outs.get(1), OutputFormat.NIFTI, expectedCr, "cr.nii");
        assertSamePixels(Clahe.apply(input(cr), 3.5, 4, 2, Clahe.Bins.BITS_STORED_256), decode(outs.get(1).toByteArray()));
        assertEquals("medprep modality=OT photometric=MONOCHROME2 bits=8", niftiDescrip(outs.get(0).toByteArray()));
        assertEquals("medprep modality=CR photometric=MONOCHROME2 bits=8", niftiDescrip(outs.get(1).toByteArray()));
        Image crOut = decode(outs.get(1).toByteArray());
        assertEquals(8, crOut.metadata().bitsStored());
        assertEquals(1.0, crOut.metadata().rescaleSlope());
        assertEquals(0.0, crOut.metadata().rescaleIntercept());
        assertParameters(lastStep(outs.get(0), "ApplyCLAHE"), parameters(3.5, 4, 2, DEFAULT_BINS, OutputFormat.NIFTI,
                "Bits Stored", 16));
        assertParameters(lastStep(outs.get(1), "ApplyCLAHE"), parameters(3.5, 4, 2, DEFAULT_BINS, OutputFormat.NIFTI,
                "Bits Stored", 12));
        assertOneEventPerFlowFile(runner, ProvenanceEventType.CONTENT_MODIFIED, outs);
    }

    @Test
    void valueAboveBitsStoredRoutesToFailureInTheDefaultModeOnly() throws Exception {
        Image cam = input(RealFiles.skimage("camera.png"));
        Image u16 = Image.allocate(VoxelType.UINT16, cam.width(), cam.height(), 1, 1, cam.geometry(),
                ImageMetadata.picture("PNG", 12, "MONOCHROME2"));
        for (int i = 0; i < cam.size(); i++) {
            u16.set(i, cam.get(i) * 16);        // 0..4080: 12 bits
        }
        u16.set(1000, 5000);                    // contradicts BitsStored 12
        byte[] nii = nifti(u16);
        runner.enqueue(nii);
        runner.run();
        assertAllFailed(runner, ApplyCLAHE.REL_FAILURE, "ApplyCLAHE", List.of(nii), Pattern.compile(
                "^A sample value 5000 is above the BitsStored 12 range 0 to 4095, so CLAHE's 256 bins over that "
                        + "range cannot hold it\\.$"));

        TestRunner nativeBins = TestRunners.newTestRunner(ApplyCLAHE.class);
        nativeBins.setProperty(ApplyCLAHE.HISTOGRAM_BINS, "OPENCV_NATIVE");
        nativeBins.enqueue(nii);
        nativeBins.run();
        nativeBins.assertAllFlowFilesTransferred(ApplyCLAHE.REL_SUCCESS, 1);
    }

    @Test
    void histogramBinsProperty() {
        PropertyDescriptor bins = runner.getProcessor().getPropertyDescriptors().stream()
                .filter(p -> p.getName().equals("Histogram Bins")).findFirst().orElseThrow();
        assertEquals(ApplyCLAHE.HISTOGRAM_BINS, bins);
        assertTrue(bins.isRequired());
        assertEquals("BITS_STORED_256", bins.getDefaultValue());
        assertEquals(List.of("BITS_STORED_256", "OPENCV_NATIVE"),
                bins.getAllowableValues().stream().map(AllowableValue::getValue).toList());
        assertEquals(List.of(DEFAULT_BINS, "OpenCV native"),
                bins.getAllowableValues().stream().map(AllowableValue::getDisplayName).toList());
        runner.setProperty(ApplyCLAHE.HISTOGRAM_BINS, "65536");
        runner.assertNotValid();
        runner.setProperty(ApplyCLAHE.HISTOGRAM_BINS, "OPENCV_NATIVE");
        runner.assertValid();
    }

    @Test
    void int16CtEqualsClaheApply() throws Exception {
        Path ct = RealFiles.pydicom("CT_small.dcm");
        runner.enqueue(ct, Map.of("filename", "CT_small.dcm"));
        runner.run();
        runner.assertAllFlowFilesTransferred(ApplyCLAHE.REL_SUCCESS, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ApplyCLAHE.REL_SUCCESS).get(0);
        Image in = input(ct);
        assertEquals(VoxelType.INT16, in.type());
        assertEncoded(out, OutputFormat.NIFTI, Clahe.apply(in, 2.0, 8, 8, Clahe.Bins.BITS_STORED_256), "CT_small.nii");
        // int16 keeps its type and metadata (so Normalize's Scale by Bit Depth still rejects signed CT).
        Image written = decode(out.toByteArray());
        assertEquals(VoxelType.INT16, written.type());
        assertEquals(in.metadata().rescaleIntercept(), written.metadata().rescaleIntercept());
        ImageStats stats = ImageStats.of(in);
        assertParameters(lastStep(out, "ApplyCLAHE"), parameters(2.0, 8, 8, DEFAULT_BINS, OutputFormat.NIFTI,
                "Bin Range Min", stats.min(), "Bin Range Max", stats.max()));

        TestRunner nativeBins = TestRunners.newTestRunner(ApplyCLAHE.class);
        nativeBins.setProperty(ApplyCLAHE.HISTOGRAM_BINS, "OPENCV_NATIVE");
        nativeBins.enqueue(ct, Map.of("filename", "CT_small.dcm"));
        nativeBins.run();
        MockFlowFile nativeOut = nativeBins.getFlowFilesForRelationship(ApplyCLAHE.REL_SUCCESS).get(0);
        assertEncoded(nativeOut, OutputFormat.NIFTI, Clahe.apply(in, 2.0, 8, 8, Clahe.Bins.OPENCV_NATIVE),
                "CT_small.nii");
        assertEquals(VoxelType.INT16, decode(nativeOut.toByteArray()).type());
    }

    @Test
    void defaultClaheThenScaleByBitDepthDividesBy255() throws Exception {
        runner.enqueue(RealFiles.pydicom("dicomdirtests/77654033/CR1/6154"), Map.of("filename", "cr"));
        runner.run();
        MockFlowFile equalized = runner.getFlowFilesForRelationship(ApplyCLAHE.REL_SUCCESS).get(0);
        Image eq = decode(equalized.toByteArray());
        assertEquals(VoxelType.UINT8, eq.type());

        TestRunner normalize = TestRunners.newTestRunner(Normalize.class);
        normalize.enqueue(equalized.toByteArray(), equalized.getAttributes());
        normalize.run();
        normalize.assertAllFlowFilesTransferred(Normalize.REL_SUCCESS, 1);
        MockFlowFile out = normalize.getFlowFilesForRelationship(Normalize.REL_SUCCESS).get(0);
        Image scaled = decode(out.toByteArray());
        for (int i = 0; i < eq.size(); i++) {
            assertEquals((float) (eq.get(i) / 255.0), (float) scaled.get(i), "sample " + i);
        }
        JsonNode h = history(out);
        assertEquals(2, h.size());
        assertEquals(DEFAULT_BINS, h.get(0).get("parameters").get("Histogram Bins").asText());
        assertEquals(12, h.get(0).get("parameters").get("Bits Stored").asInt());
        assertEquals(8, h.get(1).get("parameters").get("Bits Stored").asInt());
    }

    @Test
    void openCvNativeSixteenBitClaheThenScaleByBitDepthDividesBy65535() throws Exception {
        runner.setProperty(ApplyCLAHE.HISTOGRAM_BINS, ApplyCLAHE.HistogramBinning.OPENCV_NATIVE);
        runner.enqueue(camera16(), Map.of("filename", "camera16.nii"));
        runner.run();
        MockFlowFile equalized = runner.getFlowFilesForRelationship(ApplyCLAHE.REL_SUCCESS).get(0);
        Image eq = decode(equalized.toByteArray());
        double max = 0;
        for (int i = 0; i < eq.size(); i++) {
            max = Math.max(max, eq.get(i));
        }
        assertTrue(max > 4095, "the equalized image uses more than 12 bits: " + max);

        TestRunner normalize = TestRunners.newTestRunner(Normalize.class);
        normalize.enqueue(equalized.toByteArray(), equalized.getAttributes());
        normalize.run();
        normalize.assertAllFlowFilesTransferred(Normalize.REL_SUCCESS, 1);
        MockFlowFile out = normalize.getFlowFilesForRelationship(Normalize.REL_SUCCESS).get(0);
        Image scaled = decode(out.toByteArray());
        assertEquals(VoxelType.FLOAT32, scaled.type());
        assertEquals(eq.size(), scaled.size());
        for (int i = 0; i < eq.size(); i++) {
            assertEquals((float) (eq.get(i) / 65535.0), (float) scaled.get(i), "sample " + i);
        }
        JsonNode h = history(out);
        assertEquals(2, h.size());
        assertEquals("ApplyCLAHE", h.get(0).get("processor").asText());
        assertEquals("Normalize", h.get(1).get("processor").asText());
        assertEquals("Scale by Bit Depth", h.get(1).get("parameters").get("Method").asText());
        assertEquals(16, h.get(1).get("parameters").get("Bits Stored").asInt());
        assertOneEventPerFlowFile(normalize, ProvenanceEventType.CONTENT_MODIFIED, List.of(out));
    }

    @Test
    void validation() {
        runner.assertValid();
        runner.setProperty(ApplyCLAHE.TILE_COLUMNS, "0");
        runner.assertNotValid();
        runner.setProperty(ApplyCLAHE.TILE_COLUMNS, "8");
        runner.setProperty(ApplyCLAHE.TILE_ROWS, "-2");
        runner.assertNotValid();
        runner.setProperty(ApplyCLAHE.TILE_ROWS, "8");
        runner.setProperty(ApplyCLAHE.CLIP_LIMIT, "high");
        runner.assertNotValid();
        runner.setProperty("Output Format", "JPEG");
        runner.assertNotValid();
    }

    @Test
    void unreadableColourAndZeroClipRouteToFailureUnchanged() throws Exception {
        byte[] random = new byte[3000];
        new Random(5).nextBytes(random);
        byte[] rgb = Files.readAllBytes(RealFiles.skimage("hubble_deep_field.jpg"));
        runner.enqueue(random);
        runner.enqueue(rgb);
        runner.run(2);
        assertAllFailed(runner, ApplyCLAHE.REL_FAILURE, "ApplyCLAHE", List.of(random, rgb),
                Pattern.compile("not a supported image format|^CLAHE is applied to grayscale images; this one has 3 "
                        + "channels\\.$"));
        List<MockFlowFile> failed = runner.getFlowFilesForRelationship(ApplyCLAHE.REL_FAILURE);
        assertTrue(failed.get(1).getAttribute("medprep.failure.reason").contains("3 channels"));

        TestRunner zeroClip = TestRunners.newTestRunner(ApplyCLAHE.class);
        zeroClip.setProperty(ApplyCLAHE.CLIP_LIMIT, "0");
        byte[] camera = Files.readAllBytes(RealFiles.skimage("camera.png"));
        zeroClip.enqueue(camera);
        zeroClip.run();
        assertAllFailed(zeroClip, ApplyCLAHE.REL_FAILURE, "ApplyCLAHE", List.of(camera),
                Pattern.compile("^CLAHE needs a positive clip limit and tile grid\\.$"));
    }
}
