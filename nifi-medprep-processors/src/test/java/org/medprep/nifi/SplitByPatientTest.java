/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.medprep.testutil.ProcessorChecks.JSON;
import static org.medprep.testutil.ProcessorChecks.assertOneEventPerFlowFile;
import static org.medprep.testutil.ProcessorChecks.history;
import static org.medprep.testutil.ProcessorChecks.lastStep;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.nifi.processor.Relationship;
import org.apache.nifi.provenance.ProvenanceEventRecord;
import org.apache.nifi.provenance.ProvenanceEventType;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.medprep.ops.PatientSplit;

class SplitByPatientTest {

    private static final List<Relationship> SPLITS = List.of(SplitByPatient.REL_TRAIN,
            SplitByPatient.REL_VALIDATION, SplitByPatient.REL_TEST);

    private TestRunner runner;

    @BeforeEach
    void setUp() {
        runner = TestRunners.newTestRunner(SplitByPatient.class);
    }

    private static List<String> keys(int n, long seed) {
        Random random = new Random(seed);
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] b = new byte[32];
            random.nextBytes(b);
            keys.add(HexFormat.of().formatHex(b));
        }
        return keys;
    }

    /** Key → relationship name of every FlowFile routed to train/validation/test. */
    private static Map<String, String> routed(TestRunner r) {
        Map<String, String> byKey = new HashMap<>();
        for (Relationship rel : SPLITS) {
            for (MockFlowFile ff : r.getFlowFilesForRelationship(rel)) {
                String key = ff.getAttribute("medprep.patient.key");
                ff.assertAttributeEquals("medprep.split", rel.getName());
                String previous = byKey.put(key + "#" + ff.getAttribute("image"), rel.getName());
                assertTrue(previous == null);
            }
        }
        return byKey;
    }

    @Test
    void sameKeySameSplitAcrossRunnersAndEnqueueOrders() throws Exception {
        List<String> patients = keys(60, 42);
        List<String[]> images = new ArrayList<>();
        for (String p : patients) {
            for (int i = 0; i < 3; i++) {
                images.add(new String[]{p, Integer.toString(i)});
            }
        }
        for (String[] im : images) {
            runner.enqueue("pixels " + im[0] + im[1], Map.of("medprep.patient.key", im[0], "image", im[1]));
        }
        runner.run(images.size());

        TestRunner other = TestRunners.newTestRunner(SplitByPatient.class);
        List<String[]> shuffled = new ArrayList<>(images);
        Collections.shuffle(shuffled, new Random(9));
        for (String[] im : shuffled) {
            other.enqueue("pixels " + im[0] + im[1], Map.of("medprep.patient.key", im[0], "image", im[1]));
        }
        other.run(shuffled.size());

        runner.assertTransferCount(SplitByPatient.REL_FAILURE, 0);
        Map<String, String> a = routed(runner);
        Map<String, String> b = routed(other);
        assertEquals(images.size(), a.size(), "FlowFiles in = FlowFiles out");
        assertEquals(a, b);
        for (String[] im : images) {
            String split = a.get(im[0] + "#" + im[1]);
            assertEquals(PatientSplit.assign("medprep", im[0], 0.70, 0.15).label(), split);
            // Every image of a patient in one split.
            assertEquals(a.get(im[0] + "#0"), split);
        }
        assertTrue(a.values().stream().distinct().count() == 3, "60 patients reach all three splits");
    }

    @Test
    void saltAndRatiosAreUsed() throws Exception {
        runner.setProperty(SplitByPatient.SALT, "cohort-2");
        runner.setProperty(SplitByPatient.TRAIN_RATIO, "0.5");
        runner.setProperty(SplitByPatient.VALIDATION_RATIO, "0.25");
        runner.setProperty(SplitByPatient.TEST_RATIO, "0.25");
        runner.setProperty(SplitByPatient.GROUP_KEY, "${study}");
        List<String> ks = keys(200, 7);
        for (String k : ks) {
            runner.enqueue(new byte[0], Map.of("study", k, "medprep.patient.key", k, "image", "0"));
        }
        runner.run(ks.size());
        Map<String, String> a = routed(runner);
        for (String k : ks) {
            assertEquals(PatientSplit.assign("cohort-2", k, 0.5, 0.25).label(), a.get(k + "#0"));
        }
        MockFlowFile any = runner.getFlowFilesForRelationship(SplitByPatient.REL_TRAIN).get(0);
        JsonNode p = lastStep(any, "SplitByPatient").get("parameters");
        assertEquals("${study}", p.get("Group Key").asText());
        assertEquals(0.5, p.get("Train Ratio").asDouble());
        assertEquals(0.25, p.get("Validation Ratio").asDouble());
        assertEquals(0.25, p.get("Test Ratio").asDouble());
    }

    @Test
    void oneRouteEventPerFlowFileNamingTheOutcomeAndContentUnchanged() throws Exception {
        List<String> ks = keys(40, 3);
        String previousStep = "{\"processor\":\"ValidateImage\",\"version\":\"x\",\"parameters\":{},"
                + "\"outcome\":\"valid\",\"ms\":1}";
        for (String k : ks) {
            runner.enqueue(("content of " + k).getBytes(StandardCharsets.UTF_8),
                    Map.of("medprep.patient.key", k, "medprep.history", "[" + previousStep + "]"));
        }
        runner.enqueue("no key".getBytes(StandardCharsets.UTF_8));
        runner.run(ks.size() + 1);

        List<MockFlowFile> all = new ArrayList<>();
        for (Relationship rel : List.of(SplitByPatient.REL_TRAIN, SplitByPatient.REL_VALIDATION,
                SplitByPatient.REL_TEST, SplitByPatient.REL_FAILURE)) {
            for (MockFlowFile ff : runner.getFlowFilesForRelationship(rel)) {
                all.add(ff);
                JsonNode step = lastStep(ff, "SplitByPatient");
                assertEquals(rel.getName(), step.get("outcome").asText());
                String key = ff.getAttribute("medprep.patient.key");
                ff.assertContentEquals(key == null ? "no key" : "content of " + key);
                if (key != null) {
                    JsonNode h = history(ff);
                    assertEquals(2, h.size());
                    assertEquals(JSON.readTree(previousStep), h.get(0));
                }
            }
        }
        assertEquals(ks.size() + 1, all.size(), "FlowFiles in = FlowFiles out");
        assertOneEventPerFlowFile(runner, ProvenanceEventType.ROUTE, all);
        for (ProvenanceEventRecord e : runner.getProvenanceEvents()) {
            MockFlowFile ff = all.stream().filter(f -> f.getAttribute("uuid").equals(e.getFlowFileUuid()))
                    .findFirst().orElseThrow();
            String outcome = JSON.readTree(e.getDetails()).get("outcome").asText();
            String expected = ff.getAttribute("medprep.split") == null ? "failure" : ff.getAttribute("medprep.split");
            assertEquals(expected, outcome);
        }
    }

    @Test
    void emptyOrMissingKeyRoutesToFailureWithReason() throws Exception {
        runner.enqueue("a", Map.of());
        runner.enqueue("b", Map.of("medprep.patient.key", ""));
        runner.enqueue("c", Map.of("medprep.patient.key", "   "));
        runner.run(3);
        runner.assertAllFlowFilesTransferred(SplitByPatient.REL_FAILURE, 3);
        List<MockFlowFile> failed = runner.getFlowFilesForRelationship(SplitByPatient.REL_FAILURE);
        String[] contents = {"a", "b", "c"};
        for (int i = 0; i < 3; i++) {
            MockFlowFile ff = failed.get(i);
            ff.assertContentEquals(contents[i]);
            ff.assertAttributeEquals("medprep.failure.reason",
                    "The group key ${medprep.patient.key} is missing or empty.");
            ff.assertAttributeNotExists("medprep.split");
            JsonNode step = lastStep(ff, "SplitByPatient");
            assertEquals("failure", step.get("outcome").asText());
            assertEquals(ff.getAttribute("medprep.failure.reason"), step.get("reason").asText());
        }
        assertOneEventPerFlowFile(runner, ProvenanceEventType.ROUTE, failed);
    }

    @Test
    void ratiosMustSumToOne() {
        runner.assertValid();
        runner.setProperty(SplitByPatient.VALIDATION_RATIO, "0.2");
        runner.assertNotValid();
        runner.setProperty(SplitByPatient.TEST_RATIO, "0.1");
        runner.assertValid();
        runner.setProperty(SplitByPatient.TRAIN_RATIO, "1.5");
        runner.assertNotValid();
        runner.setProperty(SplitByPatient.TRAIN_RATIO, "-0.1");
        runner.assertNotValid();
        runner.setProperty(SplitByPatient.TRAIN_RATIO, "seventy");
        runner.assertNotValid();
        runner.setProperty(SplitByPatient.TRAIN_RATIO, "1");
        runner.setProperty(SplitByPatient.VALIDATION_RATIO, "0");
        runner.setProperty(SplitByPatient.TEST_RATIO, "0");
        runner.assertValid();
    }

    @Test
    void thousandRandomKeysGiveTheTrainShareWithinSixPoints() throws Exception {
        List<String> ks = keys(1000, 20261121);
        for (String k : ks) {
            runner.enqueue(new byte[0], Map.of("medprep.patient.key", k, "image", "0"));
        }
        runner.run(ks.size());
        int train = runner.getFlowFilesForRelationship(SplitByPatient.REL_TRAIN).size();
        int validation = runner.getFlowFilesForRelationship(SplitByPatient.REL_VALIDATION).size();
        int test = runner.getFlowFilesForRelationship(SplitByPatient.REL_TEST).size();
        assertEquals(1000, train + validation + test);
        double share = train / 1000.0;
        assertTrue(Math.abs(share - 0.70) <= 0.06, "train share " + share);
        assertTrue(Math.abs(validation / 1000.0 - 0.15) <= 0.05, "validation share " + validation / 1000.0);
        assertTrue(Math.abs(test / 1000.0 - 0.15) <= 0.05, "test share " + test / 1000.0);
        assertNotNull(routed(runner));
    }
}
