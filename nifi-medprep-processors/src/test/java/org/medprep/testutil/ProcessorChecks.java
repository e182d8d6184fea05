/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.testutil;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.nifi.provenance.ProvenanceEventRecord;
import org.apache.nifi.provenance.ProvenanceEventType;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.io.ImageReadException;
import org.medprep.io.ImageReaders;
import org.medprep.io.NiftiWriter;
import org.medprep.io.NpyWriter;
import org.medprep.io.OutputFormat;
import org.medprep.io.ReadLimits;
import org.medprep.ops.Monochrome;

/** Assertions shared by the processor tests: decoding outputs, history, provenance and failure routing. */
public final class ProcessorChecks {

    public static final ObjectMapper JSON = new ObjectMapper();

    private ProcessorChecks() {
    }

    public static Image decode(byte[] content) throws ImageReadException {
        return ImageReaders.read(content, ReadLimits.DEFAULT).image();
    }

    public static Image decode(Path file) throws Exception {
        return decode(Files.readAllBytes(file));
    }

    /** What every transforming processor hands its operation: the decoded file turned MONOCHROME2. */
    public static Image input(Path file) throws Exception {
        return Monochrome.toMonochrome2(decode(file));
    }

    public static Image input(byte[] content) throws Exception {
        return Monochrome.toMonochrome2(decode(content));
    }

    /** Same voxel type, size and every sample (float samples bit for bit). */
    public static void assertSamePixels(Image expected, Image actual) {
        assertEquals(expected.type(), actual.type(), "voxel type");
        assertEquals(expected.width(), actual.width(), "width");
        assertEquals(expected.height(), actual.height(), "height");
        assertEquals(expected.depth(), actual.depth(), "depth");
        assertEquals(expected.channels(), actual.channels(), "channels");
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.get(i);
            double a = actual.get(i);
            if (Double.doubleToLongBits(e) != Double.doubleToLongBits(a)) {
                fail("sample " + i + " differs: expected " + e + ", got " + a);
            }
        }
    }

    public static void assertSameGeometry(Geometry expected, Geometry actual) {
        // NIfTI holds spacing and the affine as float32.
        assertTrue(expected.approximatelyEquals(actual, 1e-4), "geometry: expected " + expected + ", got " + actual);
    }

    public static JsonNode history(MockFlowFile ff) throws Exception {
        String h = ff.getAttribute("medprep.history");
        assertNotNull(h, "medprep.history missing");
        JsonNode node = JSON.readTree(h);
        assertTrue(node.isArray(), "medprep.history is a JSON array: " + h);
        return node;
    }

    /** The last history element: processor, a version, a parameters object and ms ≥ 0. */
    public static JsonNode lastStep(MockFlowFile ff, String processor) throws Exception {
        JsonNode history = history(ff);
        assertTrue(history.size() > 0);
        JsonNode step = history.get(history.size() - 1);
        assertEquals(processor, step.get("processor").asText());
        assertTrue(step.hasNonNull("version") && !step.get("version").asText().isBlank(), "version: " + step);
        assertTrue(step.get("parameters").isObject(), "parameters: " + step);
        assertTrue(step.get("ms").isIntegralNumber() && step.get("ms").asLong() >= 0, "ms: " + step);
        return step;
    }

    /** The step's parameters equal exactly these (effective) values. */
    public static void assertParameters(JsonNode step, Map<String, ?> expected) {
        assertEquals(JSON.valueToTree(expected), step.get("parameters"), "parameters of " + step);
    }

    /**
     * Exactly one provenance event per FlowFile of {@code flowFiles}, of the given type, whose details are the JSON
     * of the FlowFile's last history step; no other events.
     */
    public static void assertOneEventPerFlowFile(TestRunner runner, ProvenanceEventType type,
                                                 List<MockFlowFile> flowFiles) throws Exception {
        List<ProvenanceEventRecord> events = runner.getProvenanceEvents();
        assertEquals(flowFiles.size(), events.size(), "one provenance event per FlowFile: " + events);
        Map<String, ProvenanceEventRecord> byUuid = new HashMap<>();
        for (ProvenanceEventRecord e : events) {
            assertEquals(type, e.getEventType(), "event type");
            assertTrue(byUuid.put(e.getFlowFileUuid(), e) == null, "two events for " + e.getFlowFileUuid());
        }
        for (MockFlowFile ff : flowFiles) {
            ProvenanceEventRecord e = byUuid.get(ff.getAttribute("uuid"));
            assertNotNull(e, "no event for " + ff);
            JsonNode history = history(ff);
            assertEquals(history.get(history.size() - 1), JSON.readTree(e.getDetails()), "event details = step");
        }
    }

    /**
     * All FlowFiles went to failure, each with its original content, a reason matching {@code reason} that is
     * also the last history step's reason, and one ROUTE event.
     */
    public static void assertAllFailed(TestRunner runner, org.apache.nifi.processor.Relationship failure,
                                       String processor, List<byte[]> originals, Pattern reason) throws Exception {
        runner.assertAllFlowFilesTransferred(failure, originals.size());
        List<MockFlowFile> failed = runner.getFlowFilesForRelationship(failure);
        for (int i = 0; i < failed.size(); i++) {
            MockFlowFile ff = failed.get(i);
            ff.assertContentEquals(originals.get(i));
            String r = ff.getAttribute("medprep.failure.reason");
            assertNotNull(r, "medprep.failure.reason");
            assertTrue(reason.matcher(r).find(), "unexpected reason: " + r);
            JsonNode step = lastStep(ff, processor);
            assertEquals("failure", step.get("outcome").asText());
            assertEquals(r, step.get("reason").asText());
        }
        assertOneEventPerFlowFile(runner, ProvenanceEventType.ROUTE, failed);
    }

    /** The FlowFile is {@code expected} encoded in {@code format}, with the format's mime.type and file name. */
    public static void assertEncoded(MockFlowFile ff, OutputFormat format, Image expected, String filename)
            throws Exception {
        ff.assertAttributeEquals("mime.type", format.mimeType());
        ff.assertAttributeEquals("filename", filename);
        ff.assertAttributeEquals("medprep.width", Integer.toString(expected.width()));
        ff.assertAttributeEquals("medprep.height", Integer.toString(expected.height()));
        ff.assertAttributeEquals("medprep.depth", Integer.toString(expected.depth()));
        byte[] content = ff.toByteArray();
        switch (format) {
            case NPY -> {
                Npy npy = npy(content);
                String dtype = switch (expected.type()) {
                    case UINT8 -> "|u1";
                    case INT8 -> "|i1";
                    case UINT16 -> "<u2";
                    case INT16 -> "<i2";
                    case INT32 -> "<i4";
                    case FLOAT32 -> "<f4";
                };
                assertEquals(dtype, npy.descr());
                int[] shape = expected.depth() > 1
                        ? new int[]{expected.depth(), expected.height(), expected.width()}
                        : new int[]{expected.height(), expected.width()};
                if (expected.channels() > 1) {
                    shape = Arrays.copyOf(shape, shape.length + 1);
                    shape[shape.length - 1] = expected.channels();
                }
                assertArrayEquals(shape, npy.shape());
                assertEquals((long) expected.size() * expected.type().bytes(), content.length - npy.dataOffset());
                ByteArrayOutputStream ref = new ByteArrayOutputStream();
                NpyWriter.write(expected, ref);
                assertArrayEquals(ref.toByteArray(), content, "npy bytes");
            }
            case NIFTI, NIFTI_GZ, PNG -> {
                if (format == OutputFormat.NIFTI_GZ) {
                    assertEquals(0x1f, content[0] & 0xFF);
                    assertEquals(0x8b, content[1] & 0xFF);
                }
                Image actual = decode(content);
                assertSamePixels(expected, actual);
                if (format != OutputFormat.PNG) {
                    assertSameGeometry(expected.geometry(), actual.geometry());
                }
            }
        }
    }

    /** {@code image} as an uncompressed NIfTI-1 file. */
    public static byte[] nifti(Image image) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NiftiWriter.write(image, out, false);
        return out.toByteArray();
    }

    /** A 20 x 10 int32 gradient image as NIfTI (a type most operations reject). */
    public static byte[] int32Nifti() throws Exception {
        Image im = Image.allocate(VoxelType.INT32, 20, 10, 1, 1, Geometry.UNIT,
                ImageMetadata.picture("NIfTI", 32, "MONOCHROME2"));
        for (int i = 0; i < im.size(); i++) {
            im.set(i, i * 1000);
        }
        return nifti(im);
    }

    /** The 80-byte NIfTI-1 descrip field of an uncompressed .nii, up to its NUL. */
    public static String niftiDescrip(byte[] nii) {
        int n = 0;
        while (n < 80 && nii[148 + n] != 0) {
            n++;
        }
        return new String(nii, 148, n, StandardCharsets.US_ASCII);
    }

    /** A parsed .npy v1.0 header. */
    public record Npy(String descr, boolean fortranOrder, int[] shape, int dataOffset) {
    }

    public static Npy npy(byte[] content) {
        assertEquals((byte) 0x93, content[0]);
        assertEquals("NUMPY", new String(content, 1, 5, StandardCharsets.US_ASCII));
        assertEquals(1, content[6]);
        assertEquals(0, content[7]);
        int len = (content[8] & 0xFF) | (content[9] & 0xFF) << 8;
        int offset = 10 + len;
        assertEquals(0, offset % 64, "header padded to 64 bytes");
        String header = new String(content, 10, len, StandardCharsets.US_ASCII);
        assertTrue(header.endsWith("\n"));
        Matcher m = Pattern.compile("\\{'descr': '([^']+)', 'fortran_order': (True|False), 'shape': \\(([^)]*)\\), }")
                .matcher(header);
        assertTrue(m.find(), "npy header: " + header);
        int[] shape = Arrays.stream(m.group(3).split(",")).map(String::strip).filter(s -> !s.isEmpty())
                .mapToInt(Integer::parseInt).toArray();
        return new Npy(m.group(1), m.group(2).equals("True"), shape, offset);
    }
}
