/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.nifi.processor.Processor;
import org.apache.nifi.processor.Relationship;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.medprep.nifi.ApplyCLAHE;
import org.medprep.nifi.ClipHU;
import org.medprep.nifi.CorrectBiasField;
import org.medprep.nifi.Denoise;
import org.medprep.nifi.Normalize;
import org.medprep.nifi.ResampleSpacing;
import org.medprep.nifi.ResizeWithPadding;
import org.medprep.nifi.SplitByPatient;
import org.medprep.nifi.ValidateImage;

/**
 * The nine processors, each in its own nifi-mock {@link TestRunner}, run on one input after another (one harness
 * per thread). Each input goes to ValidateImage first, as the raw file with a file name. The other eight then get
 * the raw file again with every attribute ValidateImage wrote, whichever way it routed it: for a valid input that is
 * what a flow gives them; for an invalid one it is a mis-wired flow (invalid connected onwards), so every processor
 * reads every mutant itself. SplitByPatient thus gets ValidateImage's medprep.patient.key when there is one, and
 * none (its failure path) when ValidateImage could not read the patient.
 *
 * <p>Settings are each processor's defaults except: ValidateImage's secret, a 4 × 4 minimum size, 2 minimum
 * slices and a Patient ID for non-DICOM input (the source's name), so more mutants pass on to its valid path;
 * ClipHU accepts non-CT images (its Modality LUT path runs on everything, not only on CT); CorrectBiasField
 * runs 2 levels of 5 iterations (shrink 4, as by default) to keep the corpus fast.
 */
public final class ProcessorHarness {

    /** Processor names, in the order they run. */
    public static final List<String> PROCESSORS = List.of("ValidateImage", "ResampleSpacing", "ClipHU",
            "CorrectBiasField", "ApplyCLAHE", "Denoise", "Normalize", "SplitByPatient", "ResizeWithPadding");

    /** What happened to one input in one processor. */
    public record Outcome(String processor, String relationship, int transfers, long millis, String reason,
                          String error) {
    }

    private final Map<String, TestRunner> runners = new LinkedHashMap<>();
    private final Map<String, Boolean> initialized = new HashMap<>();

    public ProcessorHarness() {
        TestRunner validate = TestRunners.newTestRunner(ValidateImage.class);
        validate.setProperty(ValidateImage.PATIENT_KEY_SECRET, "corpus-secret-0123456789abcdef");
        validate.setProperty(ValidateImage.MIN_WIDTH, "4");
        validate.setProperty(ValidateImage.MIN_HEIGHT, "4");
        validate.setProperty(ValidateImage.MIN_SLICES, "2");
        validate.setProperty(ValidateImage.NON_DICOM_PATIENT_ID, "${filename:substringBefore('~')}");
        runners.put("ValidateImage", validate);
        runners.put("ResampleSpacing", TestRunners.newTestRunner(ResampleSpacing.class));
        TestRunner clip = TestRunners.newTestRunner(ClipHU.class);
        clip.setProperty(ClipHU.ACCEPT_NON_CT, "true");
        runners.put("ClipHU", clip);
        TestRunner n4 = TestRunners.newTestRunner(CorrectBiasField.class);
        n4.setProperty(CorrectBiasField.MAXIMUM_ITERATIONS, "5,5");
        runners.put("CorrectBiasField", n4);
        runners.put("ApplyCLAHE", TestRunners.newTestRunner(ApplyCLAHE.class));
        runners.put("Denoise", TestRunners.newTestRunner(Denoise.class));
        runners.put("Normalize", TestRunners.newTestRunner(Normalize.class));
        runners.put("SplitByPatient", TestRunners.newTestRunner(SplitByPatient.class));
        runners.put("ResizeWithPadding", TestRunners.newTestRunner(ResizeWithPadding.class));
    }

    /** Every processor on {@code content} named {@code filename}: nine outcomes, ValidateImage's first. */
    public List<Outcome> run(String filename, byte[] content) {
        List<Outcome> out = new ArrayList<>();
        Map<String, String> attributes = new HashMap<>(Map.of("filename", filename));
        Map<String, String> validated = new HashMap<>();
        Outcome v = runOne("ValidateImage", content, attributes, validated);
        out.add(v);
        validated.remove("uuid");
        validated.put("filename", filename);
        for (String p : PROCESSORS.subList(1, PROCESSORS.size())) {
            out.add(runOne(p, content, validated, null));
        }
        return out;
    }

    private Outcome runOne(String name, byte[] content, Map<String, String> attributes, Map<String, String> result) {
        TestRunner runner = runners.get(name);
        runner.clearTransferState();
        runner.clearProvenanceEvents();
        runner.enqueue(content, attributes);
        long t0 = System.nanoTime();
        String error = null;
        try {
            boolean init = !initialized.containsKey(name);
            runner.run(1, false, init);
            initialized.put(name, true);
        } catch (Throwable t) {
            error = describe(t);
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        int transfers = 0;
        String relationship = "none";
        String reason = null;
        Processor processor = runner.getProcessor();
        for (Relationship rel : processor.getRelationships()) {
            for (MockFlowFile ff : runner.getFlowFilesForRelationship(rel)) {
                transfers++;
                relationship = transfers == 1 ? rel.getName() : relationship + "+" + rel.getName();
                String r = ff.getAttribute("medprep.failure.reason");
                if (r == null) {
                    r = ff.getAttribute("medprep.invalid.reason");
                }
                if (reason == null) {
                    reason = r;
                }
                if (result != null && transfers == 1) {
                    result.putAll(ff.getAttributes());
                }
            }
        }
        int queued = runner.getQueueSize().getObjectCount();
        if (queued > 0) {
            error = (error == null ? "" : error + "; ") + queued + " FlowFile(s) left in the input queue";
            runners.put(name, fresh(name));
            initialized.remove(name);
        }
        runner.clearTransferState();
        return new Outcome(name, relationship, transfers, ms, reason, error);
    }

    /** A new runner configured like the first (after one was left in a bad state). */
    private TestRunner fresh(String name) {
        TestRunner old = runners.get(name);
        TestRunner r = TestRunners.newTestRunner(old.getProcessor().getClass());
        old.getProcessContext().getProperties().forEach((k, val) -> {
            if (val != null) {
                r.setProperty(k, val);
            }
        });
        return r;
    }

    /** The throwable and its causes as one line: class names and messages. */
    static String describe(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null && b.length() < 600; c = c.getCause() == c ? null : c.getCause()) {
            b.append(b.length() == 0 ? "" : " <- ").append(c.getClass().getName()).append(": ")
                    .append(c.getMessage());
        }
        return b.toString();
    }
}
