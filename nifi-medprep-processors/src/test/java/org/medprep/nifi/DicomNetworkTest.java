/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.nifi.provenance.ProvenanceEventRecord;
import org.apache.nifi.provenance.ProvenanceEventType;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medprep.bench.ListenDicomLoad;
import org.medprep.image.Image;
import org.medprep.testutil.ProcessorChecks;
import org.medprep.testutil.RealFiles;

/**
 * ListenDICOM and PutDICOM against real peers: dcmtk's echoscu, storescu and storescp, and Orthanc (a PACS) started
 * on 127.0.0.1 with a temporary configuration. Instances are pydicom's real test files; what arrives is compared by
 * SOP Instance UID and decoded pixels with the file sent.
 */
class DicomNetworkTest {

    private static final List<Path> FILES = List.of(RealFiles.pydicom("CT_small.dcm"), RealFiles.pydicom("MR_small.dcm"),
            RealFiles.pydicom("JPEG2000.dcm"));

    @TempDir
    Path tmp;

    private final List<Process> peers = new ArrayList<>();
    private TestRunner listener;

    @AfterEach
    void stop() {
        peers.forEach(Process::destroyForcibly);
        if (listener != null) {
            listener.stop();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String tool(String name) {
        Path p = Path.of("/usr/bin", name);
        assertTrue(Files.isExecutable(p), name + " (Debian dcmtk) is not installed; ./medprep test installs it");
        return p.toString();
    }

    /** Runs a dcmtk command to its end, while the listener's onTrigger keeps running; returns exit code and output. */
    private Map.Entry<Integer, String> runWhileListening(List<String> command, boolean trigger) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (p.isAlive() && System.nanoTime() < deadline) {
            if (trigger) {
                listener.run(1, false, false);
            } else {
                Thread.sleep(50);
            }
        }
        assertTrue(p.waitFor(5, TimeUnit.SECONDS), "timed out: " + command);
        return Map.entry(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    private int startListener(Map<String, String> properties) throws Exception {
        listener = TestRunners.newTestRunner(ListenDICOM.class);
        int port = freePort();
        listener.setProperty(ListenDICOM.PORT, Integer.toString(port));
        properties.forEach(listener::setProperty);
        listener.run(1, false, true); // @OnScheduled: listening
        return port;
    }

    @Test
    void echoscuGetsAnEchoResponse() throws Exception {
        int port = startListener(Map.of());
        var r = runWhileListening(List.of(tool("echoscu"), "-aec", "MEDPREP", "127.0.0.1", Integer.toString(port)),
                false);
        assertEquals(0, r.getKey(), r.getValue());
    }

    @Test
    void storescuInstancesBecomeFlowFilesWithTheSamePixelsAndAReceiveEvent() throws Exception {
        int port = startListener(Map.of());
        List<String> cmd = new ArrayList<>(List.of(tool("storescu"), "-xw", "-v", "-aet", "MODALITY1", "-aec", "MEDPREP",
                "127.0.0.1", Integer.toString(port)));
        FILES.forEach(f -> cmd.add(f.toString()));
        var r = runWhileListening(cmd, true);
        assertEquals(0, r.getKey(), r.getValue());
        listener.assertAllFlowFilesTransferred(ListenDICOM.REL_SUCCESS, FILES.size());
        List<MockFlowFile> out = listener.getFlowFilesForRelationship(ListenDICOM.REL_SUCCESS);
        for (int i = 0; i < FILES.size(); i++) {
            MockFlowFile ff = out.get(i);
            Image sent = ProcessorChecks.decode(FILES.get(i));
            Image received = ProcessorChecks.decode(ff.toByteArray());
            ProcessorChecks.assertSamePixels(sent, received);
            ff.assertAttributeEquals(ListenDICOM.ATTR_CALLING_AE, "MODALITY1");
            ff.assertAttributeEquals(ListenDICOM.ATTR_CALLED_AE, "MEDPREP");
            ff.assertAttributeEquals("mime.type", "application/dicom");
            assertEquals(ff.getAttribute(ListenDICOM.ATTR_SOP_INSTANCE) + ".dcm", ff.getAttribute("filename"));
            ff.assertAttributeNotExists("medprep.patient.id");
        }
        List<ProvenanceEventRecord> events = listener.getProvenanceEvents();
        assertEquals(FILES.size(), events.size());
        for (ProvenanceEventRecord e : events) {
            assertEquals(ProvenanceEventType.RECEIVE, e.getEventType());
            assertTrue(e.getTransitUri().startsWith("dicom://MODALITY1@127.0.0.1:"), e.getTransitUri());
        }
    }

    @Test
    void aCallingAeTitleNotAllowedIsRefusedAndNothingIsReceived() throws Exception {
        int port = startListener(Map.of("Allowed Calling AE Titles", "PACS1, MODALITY1"));
        var r = runWhileListening(List.of(tool("storescu"), "-R", "-aet", "INTRUDER", "-aec", "MEDPREP", "127.0.0.1",
                Integer.toString(port), FILES.get(0).toString()), true);
        assertNotEquals(0, r.getKey(), r.getValue());
        listener.assertTransferCount(ListenDICOM.REL_SUCCESS, 0);
        var ok = runWhileListening(List.of(tool("storescu"), "-R", "-aet", "PACS1", "-aec", "MEDPREP", "127.0.0.1",
                Integer.toString(port), FILES.get(0).toString()), true);
        assertEquals(0, ok.getKey(), ok.getValue());
        listener.assertTransferCount(ListenDICOM.REL_SUCCESS, 1);
    }

    @Test
    void whileNiFiCannotTakeInstancesTheSenderIsToldOutOfResourcesAndARetrySucceeds() throws Exception {
        int port = startListener(Map.of("Acknowledgement Timeout", "2 sec", "Receive Queue Size", "1"));
        List<String> cmd = List.of(tool("storescu"), "-xw", "-v", "-aet", "MODALITY1", "-aec", "MEDPREP", "127.0.0.1",
                Integer.toString(port), FILES.get(0).toString());
        // onTrigger is not called (as under back-pressure): the instance waits 2 s and is refused with A700.
        var refused = runWhileListening(cmd, false);
        assertTrue(refused.getValue().contains("Received Store Response (Refused: OutOfResources)"),
                refused.getValue());
        listener.run(1, false, false);
        listener.assertTransferCount(ListenDICOM.REL_SUCCESS, 0);
        var retried = runWhileListening(cmd, true);
        assertEquals(0, retried.getKey(), retried.getValue());
        listener.assertTransferCount(ListenDICOM.REL_SUCCESS, 1);
    }

    @Test
    void putDicomToStorescpStoresTheInstance() throws Exception {
        int port = freePort();
        Path dir = Files.createDirectories(tmp.resolve("storescp"));
        peers.add(new ProcessBuilder(tool("storescp"), "+xa", "-aet", "ARCHIVE", "-od", dir.toString(), "-fe", ".dcm",
                Integer.toString(port)).redirectErrorStream(true).redirectOutput(tmp.resolve("storescp.log").toFile())
                .start());
        waitForPort(port);
        TestRunner put = putRunner("127.0.0.1", port, "ARCHIVE");
        put.enqueue(FILES.get(0));
        put.enqueue(FILES.get(2));
        put.run(2);
        assertSent(put, 2);
        put.getFlowFilesForRelationship(PutDICOM.REL_SUCCESS).get(0).assertAttributeEquals("dicom.status", "0000");
        assertEquals(2, put.getProvenanceEvents().stream()
                .filter(e -> e.getEventType() == ProvenanceEventType.SEND
                        && e.getTransitUri().equals("dicom://ARCHIVE@127.0.0.1:" + port)).count());
        List<Path> stored;
        try (Stream<Path> s = Files.list(dir)) {
            stored = s.filter(p -> p.getFileName().toString().endsWith(".dcm")).sorted().toList();
        }
        assertEquals(2, stored.size(), "storescp wrote " + stored);
        List<String> sentUids = new ArrayList<>();
        for (Path f : List.of(FILES.get(0), FILES.get(2))) {
            sentUids.add(sopInstanceUid(Files.readAllBytes(f)));
        }
        for (Path s : stored) {
            byte[] b = Files.readAllBytes(s);
            int k = sentUids.indexOf(sopInstanceUid(b));
            assertTrue(k >= 0, s + " is not one of the instances sent");
            ProcessorChecks.assertSamePixels(ProcessorChecks.decode(List.of(FILES.get(0), FILES.get(2)).get(k)),
                    ProcessorChecks.decode(b));
        }
    }

    @Test
    void putDicomRoutesConnectionFailuresToRetryAndNonDicomToFailure() throws Exception {
        TestRunner put = putRunner("127.0.0.1", freePort(), "NOBODY");
        put.enqueue(FILES.get(0));
        put.enqueue(Files.readAllBytes(RealFiles.skimage("camera.png")));
        put.run(2);
        put.assertTransferCount(PutDICOM.REL_RETRY, 1);
        put.assertTransferCount(PutDICOM.REL_FAILURE, 1);
        MockFlowFile retry = put.getFlowFilesForRelationship(PutDICOM.REL_RETRY).get(0);
        assertTrue(retry.getAttribute("medprep.failure.reason").startsWith("The C-STORE to NOBODY at 127.0.0.1:"),
                retry.getAttribute("medprep.failure.reason"));
        assertTrue(put.getFlowFilesForRelationship(PutDICOM.REL_FAILURE).get(0).getAttribute("medprep.failure.reason")
                .startsWith("The DICOM File Meta Information"));
        assertEquals(PutDICOM.REL_RETRY, PutDICOM.byStatus(0xA700));
        assertEquals(PutDICOM.REL_SUCCESS, PutDICOM.byStatus(0xB000));
        assertEquals(PutDICOM.REL_FAILURE, PutDICOM.byStatus(0xC000));
    }

    @Test
    void aStudyGoesStorescuToListenDicomToPutDicomToOrthanc() throws Exception {
        Path orthanc = Path.of("/usr/sbin/Orthanc");
        assertTrue(Files.isExecutable(orthanc), "Orthanc (Debian orthanc) is not installed; ./medprep test installs it");
        int dicomPort = freePort();
        int httpPort = freePort();
        Path home = Files.createDirectories(tmp.resolve("orthanc"));
        Path config = home.resolve("orthanc.json");
        Files.writeString(config, "{\"Name\": \"medprep-test\", \"StorageDirectory\": \"" + home.resolve("storage")
                + "\", \"IndexDirectory\": \"" + home.resolve("index") + "\", \"DicomAet\": \"ORTHANC\", "
                + "\"DicomPort\": " + dicomPort + ", \"HttpPort\": " + httpPort + ", \"RemoteAccessAllowed\": false, "
                + "\"AuthenticationEnabled\": false, \"DicomCheckCalledAet\": true, \"Plugins\": []}");
        peers.add(new ProcessBuilder(orthanc.toString(), config.toString()).redirectErrorStream(true)
                .redirectOutput(home.resolve("orthanc.log").toFile()).start());
        waitForPort(httpPort);
        waitForPort(dicomPort);

        int port = startListener(Map.of());
        List<String> cmd = new ArrayList<>(List.of(tool("storescu"), "-xw", "-v", "-aet", "MODALITY1", "-aec", "MEDPREP",
                "127.0.0.1", Integer.toString(port)));
        FILES.forEach(f -> cmd.add(f.toString()));
        assertEquals(0, runWhileListening(cmd, true).getKey());
        TestRunner put = putRunner("127.0.0.1", dicomPort, "ORTHANC");
        for (MockFlowFile ff : listener.getFlowFilesForRelationship(ListenDICOM.REL_SUCCESS)) {
            put.enqueue(ff.toByteArray(), ff.getAttributes());
        }
        put.run(FILES.size());
        assertSent(put, FILES.size());

        ObjectMapper json = new ObjectMapper();
        HttpClient http = HttpClient.newHttpClient();
        JsonNode ids = json.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort
                + "/instances")).build(), HttpResponse.BodyHandlers.ofString()).body());
        assertEquals(FILES.size(), ids.size(), "Orthanc holds " + ids);
        List<String> arrived = new ArrayList<>();
        for (JsonNode id : ids) {
            JsonNode tags = json.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort
                    + "/instances/" + id.asText() + "/simplified-tags")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            arrived.add(tags.get("SOPInstanceUID").asText());
        }
        for (Path f : FILES) {
            assertTrue(arrived.contains(sopInstanceUid(Files.readAllBytes(f))), f + " did not arrive: " + arrived);
        }
    }

    @Test
    void twoHundredInstancesFromFourConcurrentSendersAllArriveOnce() throws Exception {
        tool("dcmodify");
        ListenDicomLoad.Result r = ListenDicomLoad.run(tmp, FILES.get(0), 200, 4);
        System.out.println("ListenDICOM load: " + r.json());
        assertEquals(0, r.failedSenders(), r.json());
        assertEquals(200, r.flowFiles(), r.json());
        assertEquals(200, r.distinctUids(), r.json());
    }

    /** All {@code n} FlowFiles went to success; otherwise the failure shows the reasons. */
    private static void assertSent(TestRunner put, int n) {
        List<String> reasons = Stream.concat(put.getFlowFilesForRelationship(PutDICOM.REL_RETRY).stream(),
                put.getFlowFilesForRelationship(PutDICOM.REL_FAILURE).stream())
                .map(f -> f.getAttribute("medprep.failure.reason")).toList();
        assertEquals(List.of(), reasons);
        put.assertAllFlowFilesTransferred(PutDICOM.REL_SUCCESS, n);
    }

    private static TestRunner putRunner(String host, int port, String calledAe) {
        TestRunner put = TestRunners.newTestRunner(PutDICOM.class);
        put.setProperty(PutDICOM.HOSTNAME, host);
        put.setProperty(PutDICOM.PORT, Integer.toString(port));
        put.setProperty(PutDICOM.CALLED_AE_TITLE, calledAe);
        return put;
    }

    private static String sopInstanceUid(byte[] part10) throws Exception {
        com.pixelmed.dicom.AttributeList list = new com.pixelmed.dicom.AttributeList();
        list.read(new com.pixelmed.dicom.DicomInputStream(new java.io.ByteArrayInputStream(part10)),
                com.pixelmed.dicom.TagFromName.PixelData);
        return com.pixelmed.dicom.Attribute.getSingleStringValueOrEmptyString(list,
                com.pixelmed.dicom.TagFromName.SOPInstanceUID);
    }

    private static void waitForPort(int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        assertFalse(true, "nothing listens on port " + port + " after 30 s");
    }
}
