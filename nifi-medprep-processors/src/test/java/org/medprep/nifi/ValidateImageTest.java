/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.apache.nifi.provenance.ProvenanceEventRecord;
import org.apache.nifi.provenance.ProvenanceEventType;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.medprep.testutil.Python;
import org.medprep.testutil.RealFiles;
import org.medprep.testutil.SyntheticDicom;

class ValidateImageTest {

    private static final String SECRET = "test-secret-0123456789";

    private TestRunner runner;

    @BeforeEach
    void setUp() {
        runner = TestRunners.newTestRunner(ValidateImage.class);
        runner.setProperty(ValidateImage.PATIENT_KEY_SECRET, SECRET);
    }

    @Test
    void realCtIsValidWithMetadataPixelHashAndKeyedPatientFromPydicom() throws Exception {
        Path ct = RealFiles.pydicom("CT_small.dcm");
        JsonNode ref = Python.json("validate_reference.py", SECRET, ct.toString()).get(ct.toString());
        runner.enqueue(ct);
        runner.run();

        runner.assertAllFlowFilesTransferred(ValidateImage.REL_VALID, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ValidateImage.REL_VALID).get(0);
        out.assertAttributeEquals("medprep.format", "DICOM");
        out.assertAttributeEquals("medprep.modality", ref.get("modality").asText());
        out.assertAttributeEquals("medprep.width", ref.get("columns").asText());
        out.assertAttributeEquals("medprep.height", ref.get("rows").asText());
        out.assertAttributeEquals("medprep.depth", "1");
        out.assertAttributeEquals("medprep.photometric", "MONOCHROME2");
        out.assertAttributeEquals("medprep.pixel.sha256", ref.get("sha256").asText());
        out.assertAttributeEquals("medprep.patient.key", ref.get("patient_key").asText());
        out.assertAttributeEquals("medprep.series.key", ref.get("series_key").asText());
        out.assertAttributeEquals("medprep.study.key", ref.get("study_key").asText());
        out.assertAttributeEquals("medprep.instance.key", ref.get("instance_key").asText());
        out.assertAttributeEquals("medprep.sop.class.uid", ref.get("sop_class").asText());
        String[] spacing = out.getAttribute("medprep.spacing").split(",");
        // PixelSpacing is (row spacing = y, column spacing = x).
        assertEquals(ref.get("spacing").get(1).asDouble(), Double.parseDouble(spacing[0]), 1e-9);
        assertEquals(ref.get("spacing").get(0).asDouble(), Double.parseDouble(spacing[1]), 1e-9);
        out.assertAttributeNotExists("medprep.patient.id");
        out.assertAttributeNotExists("medprep.invalid.reason");
        out.assertContentEquals(ct);
        assertNoRawPatientId("1CT1");
        assertOneRouteEventPerFlowFile(1);
    }

    @Test
    void rawPatientIdentifiersOnlyWhenExposed() throws Exception {
        runner.setProperty(ValidateImage.EXPOSE_PATIENT_IDENTIFIERS, "true");
        runner.enqueue(RealFiles.pydicom("CT_small.dcm"));
        runner.run();
        MockFlowFile out = runner.getFlowFilesForRelationship(ValidateImage.REL_VALID).get(0);
        out.assertAttributeEquals("medprep.patient.id", "1CT1");
        out.assertAttributeExists("medprep.patient.name");
    }

    @Test
    void monochrome1CrIsValidAndKeepsStoredValues() throws Exception {
        runner.setProperty(ValidateImage.MIN_WIDTH, "8");
        runner.setProperty(ValidateImage.MIN_HEIGHT, "8");
        Path cr = RealFiles.pydicom("dicomdirtests/77654033/CR1/6154");
        JsonNode ref = Python.json("validate_reference.py", SECRET, cr.toString()).get(cr.toString());
        runner.enqueue(cr);
        runner.run();
        runner.assertAllFlowFilesTransferred(ValidateImage.REL_VALID, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ValidateImage.REL_VALID).get(0);
        out.assertAttributeEquals("medprep.photometric", "MONOCHROME1");
        out.assertAttributeEquals("medprep.bits.stored", "12");
        // Stored values, not inverted: the digest is pydicom's pixel_array digest.
        out.assertAttributeEquals("medprep.pixel.sha256", ref.get("sha256").asText());
    }

    @Test
    void corruptInputsReachInvalidWithReasonsAndNothingIsLost() throws Exception {
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        Map<String, Pattern> expected = new LinkedHashMap<>();
        inputs.put("zero-bytes", new byte[0]);
        expected.put("zero-bytes", Pattern.compile("empty"));
        byte[] random = new byte[4096];
        new Random(7).nextBytes(random);
        inputs.put("random-bytes", random);
        expected.put("random-bytes", Pattern.compile("not a supported image format"));
        inputs.put("dicom-cut-in-pixel-data", RealFiles.truncated(RealFiles.pydicom("CT_small.dcm"), 0.6));
        expected.put("dicom-cut-in-pixel-data", Pattern.compile("(?i)truncat|incomplete|end of"));
        inputs.put("truncated-jpeg", RealFiles.truncated(RealFiles.skimage("hubble_deep_field.jpg"), 0.6));
        expected.put("truncated-jpeg", Pattern.compile("(?i)truncat|premature|incomplete"));
        inputs.put("truncated-png", RealFiles.truncated(RealFiles.skimage("camera.png"), 0.6));
        expected.put("truncated-png", Pattern.compile("(?i)truncat|premature|incomplete|end of"));
        inputs.put("huge-header", SyntheticDicom.hugeHeader());
        expected.put("huge-header", Pattern.compile("65535 x 65535 x 1000 .* the limit is 500 M"));
        inputs.put("structured-report", Files.readAllBytes(RealFiles.pydicom("test-SR.dcm")));
        expected.put("structured-report", Pattern.compile("no Pixel Data"));
        inputs.put("rt-plan", Files.readAllBytes(RealFiles.pydicom("rtplan.dcm")));
        expected.put("rt-plan", Pattern.compile("no Pixel Data"));

        for (Map.Entry<String, byte[]> e : inputs.entrySet()) {
            runner.enqueue(e.getValue(), Map.of("filename", e.getKey()));
        }
        runner.run(inputs.size());

        runner.assertTransferCount(ValidateImage.REL_VALID, 0);
        runner.assertTransferCount(ValidateImage.REL_FAILURE, 0);
        List<MockFlowFile> invalid = runner.getFlowFilesForRelationship(ValidateImage.REL_INVALID);
        assertEquals(inputs.size(), invalid.size(), "FlowFiles in = FlowFiles out");
        for (MockFlowFile ff : invalid) {
            String name = ff.getAttribute("filename");
            String reason = ff.getAttribute("medprep.invalid.reason");
            assertTrue(expected.get(name).matcher(reason).find(), name + ": unexpected reason: " + reason);
            ff.assertContentEquals(inputs.get(name));
        }
        assertOneRouteEventPerFlowFile(inputs.size());
        assertNoRawPatientId("HUGE01");
    }

    @Test
    void hugeDeclaredImageIsRejectedFromTheHeaderInUnderASecond() throws Exception {
        runner.setProperty(ValidateImage.MAX_VOXELS, "500000000");
        runner.enqueue(SyntheticDicom.hugeHeader());
        long start = System.nanoTime();
        runner.run();
        long millis = (System.nanoTime() - start) / 1_000_000;
        runner.assertAllFlowFilesTransferred(ValidateImage.REL_INVALID, 1);
        assertTrue(millis < 1000, "took " + millis + " ms");
    }

    @Test
    void undecodableTransferSyntaxesGoToFailureNamingThem() throws Exception {
        runner.enqueue(RealFiles.pydicom("MR_small_jpeg_ls_lossless.dcm"), Map.of("filename", "jpeg-ls"));
        runner.enqueue(RealFiles.pydicom("JPEG-lossy.dcm"), Map.of("filename", "jpeg-12bit"));
        runner.run(2);
        runner.assertAllFlowFilesTransferred(ValidateImage.REL_FAILURE, 2);
        for (MockFlowFile ff : runner.getFlowFilesForRelationship(ValidateImage.REL_FAILURE)) {
            String reason = ff.getAttribute("medprep.failure.reason");
            String uid = ff.getAttribute("filename").equals("jpeg-ls") ? "1.2.840.10008.1.2.4.80"
                    : "1.2.840.10008.1.2.4.51";
            assertTrue(reason.contains(uid), "reason names the transfer syntax: " + reason);
        }
    }

    @Test
    void smallBlankAndNearlyBlackImagesAreInvalid() throws Exception {
        runner.enqueue(RealFiles.pydicom("dicomdirtests/77654033/CR1/6154"), Map.of("filename", "small"));
        runner.enqueue(png(256, 256, (x, y) -> 77), Map.of("filename", "constant"));
        runner.enqueue(png(256, 256, (x, y) -> (x + y) % 9), Map.of("filename", "nearly-black"));
        runner.enqueue(png(256, 256, (x, y) -> (x * y) % 256), Map.of("filename", "ok"));
        runner.run(4);
        runner.assertTransferCount(ValidateImage.REL_VALID, 1);
        Map<String, String> reasons = new LinkedHashMap<>();
        for (MockFlowFile ff : runner.getFlowFilesForRelationship(ValidateImage.REL_INVALID)) {
            reasons.put(ff.getAttribute("filename"), ff.getAttribute("medprep.invalid.reason"));
        }
        assertEquals(3, reasons.size(), reasons.toString());
        assertTrue(reasons.get("small").contains("16 x 16 pixels, smaller than the minimum 64 x 64"), reasons.get("small"));
        assertTrue(reasons.get("constant").contains("all 65536 samples have the value 77"), reasons.get("constant"));
        assertTrue(reasons.get("nearly-black").contains("nearly black: mean 4.00"), reasons.get("nearly-black"));
    }

    /** Blank Mean Threshold 0 (a step validating single slices of a series) lets constant and dark slices pass. */
    @Test
    void thresholdZeroTurnsOffTheBlankAndNearlyBlackChecks() throws Exception {
        runner.setProperty(ValidateImage.BLANK_MEAN_THRESHOLD, "0");
        runner.enqueue(png(256, 256, (x, y) -> 0), Map.of("filename", "all-zero"));
        runner.enqueue(png(256, 256, (x, y) -> (x + y) % 9), Map.of("filename", "nearly-black"));
        runner.run(2);
        runner.assertAllFlowFilesTransferred(ValidateImage.REL_VALID, 2);
    }

    /**
     * The nearly-black rule judges images wider than 8 bits on their own range (minimum … 99th percentile): real MR
     * and CT pass, a 16-bit MR-like image with one hot voxel (mean 0.78 on the old 0 … 65535 scale) passes, a
     * 16-bit image that is 0 in 99.9 % of its samples still fails, and 8-bit images keep the 0 … 255 scale.
     */
    @Test
    void realMrAndCtPassTheBlankRuleWhileNearlyBlankSixteenBitFails() throws Exception {
        runner.setProperty(ValidateImage.MIN_WIDTH, "16");
        runner.setProperty(ValidateImage.MIN_HEIGHT, "16");
        runner.setProperty(ValidateImage.REQUIRED_DICOM_ATTRIBUTES, "Modality");
        Map<String, Path> real = new LinkedHashMap<>();
        real.put("anatomical", RealFiles.nibabel("tests/data/anatomical.nii"));
        real.put("ch2", RealFiles.mricron("ch2.nii.gz"));
        real.put("siemens-mr", RealFiles.nibabel("nicom/tests/data/slicethickness_empty_string.dcm"));
        real.put("ct", RealFiles.pydicom("CT_small.dcm"));
        try (var s = Files.list(RealFiles.pydicom("dicomdirtests/98892003/MR700/4467").getParent())) {
            for (Path slice : s.sorted().toList()) {
                real.put("MR700/" + slice.getFileName(), slice);
            }
        }
        for (Map.Entry<String, Path> e : real.entrySet()) {
            runner.enqueue(e.getValue(), Map.of("filename", e.getKey()));
        }
        runner.enqueue(png16(256, 256, (x, y) -> x == 7 && y == 9 ? 65535
                : (x - 128) * (x - 128) + (y - 128) * (y - 128) < 90 * 90 ? 380 + (x * 7 + y * 13) % 41 : 0),
                Map.of("filename", "mr-hot-voxel"));
        runner.enqueue(png16(256, 256, (x, y) -> x < 8 && y < 8 ? 4000 : 0), Map.of("filename", "dots"));
        runner.run(real.size() + 2);
        Map<String, String> invalid = new LinkedHashMap<>();
        for (MockFlowFile ff : runner.getFlowFilesForRelationship(ValidateImage.REL_INVALID)) {
            invalid.put(ff.getAttribute("filename"), ff.getAttribute("medprep.invalid.reason"));
        }
        assertEquals(List.of("dots"), List.copyOf(invalid.keySet()), invalid.toString());
        assertTrue(invalid.get("dots").contains("nearly black: mean 0.00 on an 8-bit scale from its minimum 0 to its "
                + "99th percentile 0"), invalid.get("dots"));
        runner.assertTransferCount(ValidateImage.REL_VALID, real.size() + 1);
    }

    @Test
    void requiredAttributesAndAllowedModalitiesAreChecked() throws Exception {
        runner.setProperty(ValidateImage.REQUIRED_DICOM_ATTRIBUTES, "PatientID, ClinicalTrialSponsorName");
        runner.setProperty(ValidateImage.ALLOWED_MODALITIES, "CR,DX");
        runner.enqueue(RealFiles.pydicom("CT_small.dcm"));
        runner.run();
        runner.assertAllFlowFilesTransferred(ValidateImage.REL_INVALID, 1);
        String reason = runner.getFlowFilesForRelationship(ValidateImage.REL_INVALID).get(0)
                .getAttribute("medprep.invalid.reason");
        assertEquals("The required DICOM attribute ClinicalTrialSponsorName is missing or empty. "
                + "The modality CT is not one of the allowed [CR, DX].", reason);
    }

    @Test
    void nonDicomPatientComesFromTheExpressionAndIsKeyed() throws Exception {
        runner.setProperty(ValidateImage.NON_DICOM_PATIENT_ID, "${filename:substringBefore('_')}");
        runner.enqueue(RealFiles.skimage("camera.png"), Map.of("filename", "person1234_bacteria_5678.png"));
        runner.run();
        runner.assertAllFlowFilesTransferred(ValidateImage.REL_VALID, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ValidateImage.REL_VALID).get(0);
        String key = Python.json("hmac_reference.py", SECRET, "person1234").asText();
        out.assertAttributeEquals("medprep.patient.key", key);
        out.assertAttributeEquals("medprep.format", "PNG");
        assertNoRawPatientId("person1234_");
    }

    /**
     * Output Content = Decoded Image (NIfTI): a valid image leaves as the NIfTI of exactly the voxels and geometry
     * the original decodes to, renamed .nii, with one CONTENT_MODIFIED event whose details name the outcome and
     * the bundle's real version; an invalid one keeps its original content and gets a ROUTE event.
     */
    @Test
    void decodedNiftiOutputHoldsTheDecodedImageAndInvalidKeepsItsContent() throws Exception {
        runner.setProperty(ValidateImage.OUTPUT_CONTENT, ValidateImage.OutputContent.DECODED_NIFTI);
        Path ct = RealFiles.pydicom("CT_small.dcm");
        runner.enqueue(ct, Map.of("filename", "CT_small.dcm"));
        runner.enqueue(new byte[0], Map.of("filename", "empty.dcm"));
        runner.run(2);
        MockFlowFile valid = runner.getFlowFilesForRelationship(ValidateImage.REL_VALID).get(0);
        valid.assertAttributeEquals("filename", "CT_small.nii");
        valid.assertAttributeEquals("mime.type", "application/x-nifti");
        org.medprep.image.Image original = org.medprep.io.ImageReaders.read(Files.readAllBytes(ct),
                org.medprep.io.ReadLimits.DEFAULT).image();
        org.medprep.image.Image carried = org.medprep.io.ImageReaders.read(valid.toByteArray(),
                org.medprep.io.ReadLimits.DEFAULT).image();
        assertEquals(original.type(), carried.type());
        assertTrue(java.util.Arrays.equals((short[]) original.data(), (short[]) carried.data()), "voxels");
        for (int i = 0; i < 3; i++) {   // NIfTI keeps geometry in float32: within 1e-4 mm
            assertEquals(original.geometry().spacing()[i], carried.geometry().spacing()[i], 1e-4);
            assertEquals(original.geometry().origin()[i], carried.geometry().origin()[i], 1e-3);
        }
        assertEquals(original.metadata().modality(), carried.metadata().modality());
        MockFlowFile invalid = runner.getFlowFilesForRelationship(ValidateImage.REL_INVALID).get(0);
        invalid.assertContentEquals(new byte[0]);
        Map<ProvenanceEventType, Long> types = new java.util.HashMap<>();
        for (ProvenanceEventRecord e : runner.getProvenanceEvents()) {
            types.merge(e.getEventType(), 1L, Long::sum);
            JsonNode step = new com.fasterxml.jackson.databind.ObjectMapper().readTree(e.getDetails());
            assertFalse(step.get("version").asText().equals("unknown"), "bundle version recorded: " + step);
            if (e.getEventType() == ProvenanceEventType.CONTENT_MODIFIED) {
                assertEquals("valid", step.get("outcome").asText());
                assertEquals("DECODED_NIFTI", step.get("parameters").get("Output Content").asText());
                assertTrue(step.get("parameters").get("JPEG Decoder").asText().length() > 0);
            }
        }
        assertEquals(Map.of(ProvenanceEventType.CONTENT_MODIFIED, 1L, ProvenanceEventType.ROUTE, 1L), types);
    }

    /**
     * Color Images = Convert to Grayscale: a gray picture stored as a 3-channel JPEG is valid as one channel, and
     * the decoded NIfTI holds exactly OpenCV's cv2.IMREAD_GRAYSCALE samples. Pixel Digest false writes no digest.
     */
    @Test
    void threeChannelJpegBecomesGrayAndPixelDigestCanBeOff(@org.junit.jupiter.api.io.TempDir Path tmp)
            throws Exception {
        Path jpeg = tmp.resolve("person7_virus_12.jpeg");
        Python.json("picture_ref_make.py", RealFiles.skimage("camera.png").toString(), jpeg.toString());
        runner.setProperty(org.medprep.nifi.shared.ColorImagesProperty.COLOR_IMAGES, "GRAYSCALE");
        runner.setProperty(ValidateImage.OUTPUT_CONTENT, "DECODED_NIFTI");
        runner.setProperty(ValidateImage.PIXEL_DIGEST, "false");
        runner.enqueue(jpeg);
        runner.run();
        runner.assertAllFlowFilesTransferred(ValidateImage.REL_VALID, 1);
        MockFlowFile out = runner.getFlowFilesForRelationship(ValidateImage.REL_VALID).get(0);
        out.assertAttributeEquals("medprep.photometric", "MONOCHROME2");
        out.assertAttributeNotExists("medprep.pixel.sha256");
        org.medprep.image.Image gray = org.medprep.io.ImageReaders.read(out.toByteArray(),
                org.medprep.io.ReadLimits.DEFAULT).image();
        assertEquals(1, gray.channels());
        Path raw = tmp.resolve("gray.raw");
        Python.json("picture_ref.py", jpeg.toString(), raw.toString(), "gray");
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(raw), (byte[]) gray.data()),
                "decoded NIfTI = cv2.imread(IMREAD_GRAYSCALE)");

        runner.clearTransferState();
        runner.setProperty(org.medprep.nifi.shared.ColorImagesProperty.COLOR_IMAGES, "KEEP_CHANNELS");
        runner.setProperty(ValidateImage.PIXEL_DIGEST, "true");
        runner.enqueue(jpeg);
        runner.run();
        MockFlowFile rgb = runner.getFlowFilesForRelationship(ValidateImage.REL_VALID).get(0);
        rgb.assertAttributeEquals("medprep.photometric", "RGB");
        assertTrue(rgb.getAttribute("medprep.pixel.sha256").matches("[0-9a-f]{64}"));
    }

    /**
     * Series ZIPs of pydicom's CT5N (5 slices 2.5 mm apart, 16 x 16): the whole series is valid; 2 adjacent
     * slices are fewer than the default Minimum Slices (3); with one interior slice left out the reason names the
     * gap. Reasons never hold the patient identifier.
     */
    @Test
    void seriesZipsAreCheckedForMinimumSlicesAndGaps() throws Exception {
        Path dir = RealFiles.pydicom("dicomdirtests/98892001/CT5N/2062").getParent();
        // file names in descending position: 2062 (8.76 mm), 2392, 2693, 3023, 3353 (-1.24 mm)
        List<Path> all;
        try (var l = Files.list(dir)) {
            all = l.sorted().toList();
        }
        runner.setProperty(ValidateImage.MIN_WIDTH, "16");
        runner.setProperty(ValidateImage.MIN_HEIGHT, "16");
        runner.enqueue(zip(all));
        runner.enqueue(zip(all.subList(0, 2)));
        runner.enqueue(zip(List.of(all.get(0), all.get(2), all.get(3), all.get(4))));
        runner.enqueue(zip(all.subList(0, 1)));
        runner.enqueue(all.get(0)); // one DICOM file: a 2D image, not refused by Minimum Slices
        runner.run(5);
        List<MockFlowFile> valid = runner.getFlowFilesForRelationship(ValidateImage.REL_VALID);
        List<MockFlowFile> invalid = runner.getFlowFilesForRelationship(ValidateImage.REL_INVALID);
        assertEquals(2, valid.size());
        valid.get(0).assertAttributeEquals("medprep.format", "DICOM-ZIP");
        valid.get(0).assertAttributeEquals("medprep.depth", "5");
        valid.get(1).assertAttributeEquals("medprep.format", "DICOM");
        assertEquals(3, invalid.size());
        invalid.get(0).assertAttributeEquals("medprep.invalid.reason", "The volume has 2 slices, fewer than the minimum 3.");
        invalid.get(1).assertAttributeEquals("medprep.invalid.reason", "The series has 1 slice missing between positions 3.763 "
                + "and 8.763 mm along the slice normal (spacing 2.5 mm).");
        invalid.get(2).assertAttributeEquals("medprep.invalid.reason", "The volume has 1 slice, fewer than the minimum 3.");
        assertNoRawPatientId("98890234");

        runner.clearTransferState();
        runner.setProperty(ValidateImage.MIN_SLICES, "2");
        runner.enqueue(zip(all.subList(0, 2)));
        runner.run();
        runner.assertAllFlowFilesTransferred(ValidateImage.REL_VALID, 1);

        runner.setProperty(ValidateImage.MIN_SLICES, "0");
        runner.assertNotValid();
    }

    /**
     * The small synthetic CT export of tools/make_ct_set.py (3 series, one with a missing slice, InstanceNumbers
     * shuffled in one, uint16 and int16 encodings) plus pydicom's real CT5N and CT_small: each series, zipped as
     * MergeContent would, reaches the relationship its manifest expects, with the manifest's reason.
     */
    @Test
    void generatedCtExportMatchesItsManifest(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("export");
        Path manifestPath = tmp.resolve("manifest.json");
        Python.runTool("make_ct_set.py", in.toString(), "--small", "--with-real", "--seed", "3",
                "--manifest", manifestPath.toString());
        JsonNode manifest = new com.fasterxml.jackson.databind.ObjectMapper().readTree(manifestPath.toFile());
        runner.setProperty(ValidateImage.MIN_WIDTH, "16"); // CT5N is 16 x 16
        runner.setProperty(ValidateImage.MIN_HEIGHT, "16");
        int n = 0;
        for (JsonNode series : manifest.get("series")) {
            List<Path> files = new java.util.ArrayList<>();
            series.get("files").forEach(f -> files.add(in.resolve(f.asText())));
            runner.enqueue(zip(files), Map.of("series", series.get("series_uid").asText()));
            n++;
        }
        assertEquals(5, n);
        runner.run(n);
        Map<String, MockFlowFile> out = new java.util.HashMap<>();
        runner.getFlowFilesForRelationship(ValidateImage.REL_VALID).forEach(f -> out.put(f.getAttribute("series"), f));
        runner.getFlowFilesForRelationship(ValidateImage.REL_INVALID).forEach(f -> out.put(f.getAttribute("series"), f));
        assertEquals(n, out.size());
        for (JsonNode series : manifest.get("series")) {
            MockFlowFile f = out.get(series.get("series_uid").asText());
            String reason = f.getAttribute("medprep.invalid.reason");
            if (series.get("expected").asText().equals("valid")) {
                assertNull(reason, series.get("description").asText());
                f.assertAttributeEquals("medprep.depth", series.get("slices").asText());
                f.assertAttributeEquals("medprep.width", series.get("size").get(0).asText());
            } else {
                assertEquals(series.get("expected_reason").asText(), reason);
            }
        }
        assertNoRawPatientId("MP-PH-0001");
        assertNoRawPatientId("MP-PH-0002");
    }

    /** A ZIP of the files as MergeContent writes it (entry names carry no order). */
    private static byte[] zip(List<Path> files) throws Exception {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(bos)) {
            int i = 0;
            for (Path p : files) {
                z.putNextEntry(new java.util.zip.ZipEntry("slice-" + (i++)));
                z.write(Files.readAllBytes(p));
                z.closeEntry();
            }
        }
        return bos.toByteArray();
    }

    private void assertOneRouteEventPerFlowFile(int flowFiles) {
        List<ProvenanceEventRecord> events = runner.getProvenanceEvents();
        assertEquals(flowFiles, events.size(), "one provenance event per FlowFile");
        for (ProvenanceEventRecord e : events) {
            assertEquals(ProvenanceEventType.ROUTE, e.getEventType());
            assertFalse(e.getDetails() == null || e.getDetails().isBlank());
        }
    }

    /** The raw identifier appears in no attribute written by us and in no provenance detail. */
    private void assertNoRawPatientId(String patientId) {
        for (MockFlowFile ff : runner.getFlowFilesForRelationship(ValidateImage.REL_VALID)) {
            assertNoValueContains(ff, patientId);
        }
        for (MockFlowFile ff : runner.getFlowFilesForRelationship(ValidateImage.REL_INVALID)) {
            assertNoValueContains(ff, patientId);
        }
        for (ProvenanceEventRecord e : runner.getProvenanceEvents()) {
            assertFalse(String.valueOf(e.getDetails()).contains(patientId), e.getDetails());
        }
    }

    private static void assertNoValueContains(MockFlowFile ff, String text) {
        ff.getAttributes().forEach((k, v) -> {
            if (k.startsWith("medprep.")) {
                assertFalse(v.contains(text), k + " leaks the patient identifier");
            }
        });
        assertNull(ff.getAttribute("medprep.patient.id"));
    }

    private interface Pixel {
        int at(int x, int y);
    }

    /** An 8-bit grayscale PNG encoded by the JDK's ImageIO. */
    private static byte[] png16(int w, int h, Pixel p) throws Exception {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_USHORT_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.getRaster().setSample(x, y, 0, p.at(x, y));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    private static byte[] png(int w, int h, Pixel p) throws Exception {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.getRaster().setSample(x, y, 0, p.at(x, y));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }
}
