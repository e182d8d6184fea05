/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.nifi.processor.Processor;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.io.DicomUids;
import org.medprep.nifi.shared.ImageTransformProcessor;
import org.medprep.testutil.ProcessorChecks;
import org.medprep.testutil.Python;
import org.medprep.testutil.RealFiles;

/**
 * Output Format DICOM on real inputs after ValidateImage: each derived object must pass dicom3tools' dciodvfy with
 * no error, and pydicom's values (stored × slope + intercept) must equal nibabel's values of the same step's NIfTI
 * output (exactly for integer results, within half the rescale slope for float results); geometry, identity,
 * UIDs and the source reference are checked against ValidateImage's attributes.
 */
class DerivedDicomOutputTest {

    private static final String SECRET = "derived-dicom-test-secret";

    @TempDir
    Path tmp;

    /** name, processor, input, processor properties, exact, expected SOP class name. */
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("ClipHU CT float32 HU", ClipHU.class, RealFiles.pydicom("CT_small.dcm"), Map.of(),
                        false, "Multi-frame Grayscale Word Secondary Capture Image Storage"),
                Arguments.of("ClipHU CT int16 HU", ClipHU.class, RealFiles.pydicom("CT_small.dcm"),
                        Map.of("Output Values", "HU_INT16"), true,
                        "Multi-frame Grayscale Word Secondary Capture Image Storage"),
                Arguments.of("Normalize MR z-score", Normalize.class, RealFiles.pydicom("MR_small.dcm"),
                        Map.of("Method", "Z_SCORE"), false,
                        "Multi-frame Grayscale Word Secondary Capture Image Storage"),
                Arguments.of("ResizeWithPadding 8-bit PNG", ResizeWithPadding.class, RealFiles.skimage("camera.png"),
                        Map.of("Width", "256", "Height", "200"), true,
                        "Multi-frame Grayscale Byte Secondary Capture Image Storage"),
                Arguments.of("ResizeWithPadding RGB PNG", ResizeWithPadding.class, RealFiles.skimage("chelsea.png"),
                        Map.of("Width", "128", "Height", "128"), true,
                        "Multi-frame True Color Secondary Capture Image Storage"),
                Arguments.of("ResampleSpacing NIfTI volume", ResampleSpacing.class,
                        RealFiles.nibabel("tests/data/anatomical.nii"), Map.of("Target Spacing", "3,3,3"), false,
                        "Multi-frame Grayscale Word Secondary Capture Image Storage"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void derivedObjectPassesDciodvfyAndMatchesTheNiftiOutput(String name, Class<? extends Processor> type,
                                                             Path input, Map<String, String> properties,
                                                             boolean exact, String sopClass) throws Exception {
        MockFlowFile valid = validate(input, false);
        MockFlowFile dicom = transform(type, valid, properties, "DICOM");
        MockFlowFile nifti = transform(type, valid, properties, "NIFTI");
        dicom.assertAttributeEquals("mime.type", "application/dicom");
        assertTrue(dicom.getAttribute("filename").endsWith(".dcm"), dicom.getAttribute("filename"));
        JsonNode ref = reference(dicom, nifti);

        assertEquals(List.of(), errors(ref), "dciodvfy errors");
        assertEquals(sopClass, ref.get("sop_class").asText());
        double slope = ref.get("slope").asDouble();
        double tolerance = exact ? 0 : slope / 2 + 1e-9 * (Math.abs(ref.get("intercept").asDouble()) + slope * 65535);
        assertTrue(ref.get("max_abs_diff").asDouble() <= tolerance,
                name + ": max |pydicom - nibabel| " + ref.get("max_abs_diff") + " > " + tolerance);

        // Geometry: the functional groups hold our NIfTI output's spacing, orientation and slice positions.
        Image image = ProcessorChecks.decode(nifti.toByteArray());
        Geometry g = image.geometry();
        assertEquals(image.depth(), ref.get("frames").asInt());
        assertEquals(g.spacing()[1], ref.get("pixel_spacing").get(0).asDouble(), 1e-6 * g.spacing()[1]);
        assertEquals(g.spacing()[0], ref.get("pixel_spacing").get(1).asDouble(), 1e-6 * g.spacing()[0]);
        assertEquals(g.spacing()[2], ref.get("slice_thickness").asDouble(), 1e-6 * g.spacing()[2]);
        for (int i = 0; i < 3; i++) {
            assertEquals(g.axis(0)[i], ref.get("orientation").get(i).asDouble(), 1e-9);
            assertEquals(g.axis(1)[i], ref.get("orientation").get(3 + i).asDouble(), 1e-9);
        }
        // Positions within 1e-4 mm: the NIfTI read back holds its origin as float32 (qoffset).
        int last = image.depth() - 1;
        for (int i = 0; i < 3; i++) {
            assertEquals(g.origin()[i], ref.get("positions").get(0).get(i).asDouble(), 1e-4);
            double end = g.origin()[i] + last * g.spacing()[2] * g.axis(2)[i];
            assertEquals(end, ref.get("positions").get(last).get(i).asDouble(), 1e-4);
        }

        // Derived and de-identified: keyed replacements, nothing raw.
        assertEquals(List.of("DERIVED", "SECONDARY"), strings(ref.get("image_type")));
        String derivation = ref.get("derivation").asText();
        assertTrue(derivation.contains("ValidateImage(") && derivation.contains(type.getSimpleName() + "("),
                derivation);
        assertEquals("YES", ref.get("identity_removed").asText());
        assertEquals("", ref.get("patient_name").asText());
        assertEquals(valid.getAttribute("medprep.patient.key") == null ? "" : valid.getAttribute("medprep.patient.key"),
                ref.get("patient_id").asText());
        String studyKey = valid.getAttribute("medprep.study.key");
        if (studyKey != null) {
            assertEquals(DicomUids.fromHexDigest(studyKey), ref.get("study_uid").asText());
            assertNotEquals(valid.getAttribute("medprep.study.uid"), ref.get("study_uid").asText());
            assertEquals(DicomUids.fromHexDigest(valid.getAttribute("medprep.instance.key")),
                    ref.get("source_sop_instance_uid").asText());
            assertEquals(valid.getAttribute("medprep.sop.class.uid"), ref.get("source_sop_class_uid").asText());
            assertEquals(valid.getAttribute("medprep.modality"), ref.get("modality").asText());
            MockFlowFile exposed = validate(input, true);
            assertNoneOf(dicom.toByteArray(), exposed.getAttribute("medprep.patient.id"),
                    exposed.getAttribute("medprep.patient.name"), valid.getAttribute("medprep.study.uid"),
                    valid.getAttribute("medprep.series.uid"));
        }
        assertTrue(ref.get("sop_instance_uid").asText().matches("2\\.25\\.[1-9][0-9]{0,38}"));
    }

    @Test
    void exposedIdentityIsKeptWithTheRawStudyAndSourceUids() throws Exception {
        Path ct = RealFiles.pydicom("CT_small.dcm");
        MockFlowFile exposed = validate(ct, true);
        MockFlowFile dicom = transform(ClipHU.class, exposed, Map.of("Output Values", "HU_INT16"), "DICOM");
        MockFlowFile nifti = transform(ClipHU.class, exposed, Map.of("Output Values", "HU_INT16"), "NIFTI");
        JsonNode ref = reference(dicom, nifti);
        assertEquals(List.of(), errors(ref));
        assertEquals("NO", ref.get("identity_removed").asText());
        assertEquals(exposed.getAttribute("medprep.patient.id"), ref.get("patient_id").asText());
        assertEquals(exposed.getAttribute("medprep.patient.name"), ref.get("patient_name").asText());
        assertEquals(exposed.getAttribute("medprep.study.uid"), ref.get("study_uid").asText());
        assertEquals(0, ref.get("max_abs_diff").asDouble());
    }

    @Test
    void theSameSeriesAndSettingsShareOneDerivedSeriesAndEachObjectIsNew() throws Exception {
        MockFlowFile valid = validate(RealFiles.pydicom("CT_small.dcm"), false);
        JsonNode a = reference(transform(ClipHU.class, valid, Map.of(), "DICOM"),
                transform(ClipHU.class, valid, Map.of(), "NIFTI"));
        JsonNode b = reference(transform(ClipHU.class, valid, Map.of(), "DICOM"),
                transform(ClipHU.class, valid, Map.of(), "NIFTI"));
        JsonNode c = reference(transform(ClipHU.class, valid, Map.of("Maximum HU", "500"), "DICOM"),
                transform(ClipHU.class, valid, Map.of("Maximum HU", "500"), "NIFTI"));
        assertEquals(a.get("series_uid"), b.get("series_uid"));
        assertNotEquals(a.get("sop_instance_uid"), b.get("sop_instance_uid"));
        assertNotEquals(a.get("series_uid"), c.get("series_uid"));
        assertEquals(a.get("study_uid"), c.get("study_uid"));
    }

    private MockFlowFile validate(Path input, boolean expose) throws Exception {
        TestRunner v = TestRunners.newTestRunner(ValidateImage.class);
        v.setProperty(ValidateImage.PATIENT_KEY_SECRET, SECRET);
        v.setProperty(ValidateImage.MIN_WIDTH, "8");
        v.setProperty(ValidateImage.MIN_HEIGHT, "8");
        v.setProperty(ValidateImage.EXPOSE_PATIENT_IDENTIFIERS, Boolean.toString(expose));
        v.enqueue(input, Map.of("filename", input.getFileName().toString()));
        v.run();
        v.assertAllFlowFilesTransferred(ValidateImage.REL_VALID, 1);
        return v.getFlowFilesForRelationship(ValidateImage.REL_VALID).get(0);
    }

    private static MockFlowFile transform(Class<? extends Processor> type, MockFlowFile in,
                                          Map<String, String> properties, String format) {
        TestRunner r = TestRunners.newTestRunner(type);
        properties.forEach(r::setProperty);
        r.setProperty("Output Format", format);
        r.enqueue(in.toByteArray(), in.getAttributes());
        r.run();
        r.assertAllFlowFilesTransferred(ImageTransformProcessor.REL_SUCCESS, 1);
        return r.getFlowFilesForRelationship(ImageTransformProcessor.REL_SUCCESS).get(0);
    }

    private JsonNode reference(MockFlowFile dicom, MockFlowFile nifti) throws Exception {
        Path dcm = Files.createTempFile(tmp, "derived", ".dcm");
        Path nii = Files.createTempFile(tmp, "reference", ".nii");
        Files.write(dcm, dicom.toByteArray());
        Files.write(nii, nifti.toByteArray());
        return Python.json("derived_dicom_reference.py", dcm.toString(), nii.toString());
    }

    private static List<String> errors(JsonNode ref) {
        assertFalse(ref.get("dciodvfy_errors").isNull(),
                "dciodvfy (Debian dicom3tools) is not installed; ./medprep test installs it");
        return strings(ref.get("dciodvfy_errors"));
    }

    private static List<String> strings(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }

    private static void assertNoneOf(byte[] content, String... values) {
        String text = new String(content, StandardCharsets.ISO_8859_1);
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                assertFalse(text.contains(v.strip()), "the de-identified object contains '" + v + "'");
            }
        }
    }
}
