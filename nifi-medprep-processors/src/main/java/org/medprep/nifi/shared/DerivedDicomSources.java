/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi.shared;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.nifi.flowfile.FlowFile;
import org.medprep.image.Image;
import org.medprep.io.DerivedDicomSource;
import org.medprep.io.DicomUids;

/**
 * Resolves what a derived DICOM output says about its source, from the FlowFile's attributes (ValidateImage's
 * keys and UIDs, {@code medprep.history}) and, when this step read DICOM, the reader's header.
 *
 * <p><b>De-identified (the default)</b>, as PS3.15's Basic Application Level Confidentiality Profile asks: Patient's
 * Name empty, Patient ID = {@code medprep.patient.key} (the keyed pseudonym), birth date, sex, study date/time,
 * accession number, study ID and referring physician empty; Study Instance UID and the referenced source SOP
 * Instance UID replaced by UIDs made from ValidateImage's keyed hashes {@code medprep.study.key} and
 * {@code medprep.instance.key} (one source UID always gives the same replacement; without the Patient Key Secret
 * the original cannot be recovered or confirmed). Without those keys the study UID comes from the patient key, or
 * is new, and no source reference is written.
 *
 * <p><b>Identity kept</b> when the user turned on ValidateImage's Expose Patient Identifiers (the FlowFile carries
 * {@code medprep.patient.id}): the raw Patient ID and Name, the raw Study Instance UID and, if this step read DICOM,
 * the raw source SOP Instance UID; Patient Identity Removed = NO.
 *
 * <p>Either way the object is new: a new SOP Instance UID (random), a Series Instance UID shared by every output of
 * the same source series through the same step settings, and a Frame of Reference UID derived from that series.
 */
public final class DerivedDicomSources {

    /** Keyed pseudonym of the StudyInstanceUID, written by ValidateImage. */
    public static final String STUDY_KEY = "medprep.study.key";
    /** Keyed pseudonym of the SOPInstanceUID (a series' first slice), written by ValidateImage. */
    public static final String INSTANCE_KEY = "medprep.instance.key";
    /** SOP Class UID of the source instance, written by ValidateImage. */
    public static final String SOP_CLASS_UID = "medprep.sop.class.uid";

    private static final ObjectMapper JSON = new ObjectMapper();

    private DerivedDicomSources() {
    }

    /**
     * @param flowFile   the FlowFile being transformed (attributes as they are before this step)
     * @param header     the reader's DICOM header when this step read DICOM, else empty
     * @param image      the result being written (its modality)
     * @param processor  this step's processor type, e.g. "ClipHU"
     * @param parameters this step's recorded parameters
     */
    public static DerivedDicomSource of(FlowFile flowFile, Map<String, String> header, Image image, String processor,
                                        Map<String, ?> parameters) {
        boolean keep = present(flowFile.getAttribute("medprep.patient.id"));
        String modality = first(image.metadata().modality(), flowFile.getAttribute("medprep.modality"), "OT");
        String patientKey = flowFile.getAttribute("medprep.patient.key");
        String seriesKey = flowFile.getAttribute("medprep.series.key");
        String studyKey = flowFile.getAttribute(STUDY_KEY);
        String instanceKey = flowFile.getAttribute(INSTANCE_KEY);

        String studyUid;
        String sourceInstanceUid = null;
        String seriesBasis;
        if (keep) {
            studyUid = first(header.get("StudyInstanceUID"), flowFile.getAttribute("medprep.study.uid"), null);
            sourceInstanceUid = header.get("SOPInstanceUID");
            seriesBasis = first(header.get("SeriesInstanceUID"), flowFile.getAttribute("medprep.series.uid"), null);
        } else {
            studyUid = present(studyKey) ? DicomUids.fromHexDigest(studyKey) : null;
            seriesBasis = seriesKey;
        }
        if (!present(studyUid)) {
            studyUid = present(patientKey) ? DicomUids.fromText("medprep study of patient " + patientKey)
                    : DicomUids.random();
        }
        if (sourceInstanceUid == null && present(instanceKey)) {
            sourceInstanceUid = DicomUids.fromHexDigest(instanceKey);
        }
        String seriesUid = present(seriesBasis)
                ? DicomUids.fromText("medprep derived series " + seriesBasis + " " + processor + " " + parameters)
                : DicomUids.random();
        String sourceClass = first(header.get("SOPClassUID"), flowFile.getAttribute(SOP_CLASS_UID), null);
        return new DerivedDicomSource(modality, studyUid, seriesUid,
                DicomUids.fromText("medprep frame of reference " + seriesUid), DicomUids.random(),
                present(sourceInstanceUid) ? sourceClass : null, sourceInstanceUid,
                keep ? flowFile.getAttribute("medprep.patient.id") : (present(patientKey) ? patientKey : ""),
                keep ? first(flowFile.getAttribute("medprep.patient.name"), "", "") : "",
                !keep, derivation(flowFile.getAttribute(StepRecorder.HISTORY), processor, parameters),
                "nifi-medprep " + processor);
    }

    /**
     * Derivation Description: "nifi-medprep VERSION: " and each step of the history, then this one, as
     * {@code Processor(name=value, ...)} joined by "; ".
     */
    static String derivation(String historyJson, String processor, Map<String, ?> parameters) {
        List<String> steps = new ArrayList<>();
        if (historyJson != null) {
            try {
                for (JsonNode step : JSON.readTree(historyJson)) {
                    steps.add(step.path("processor").asText() + parametersText(step.path("parameters")));
                }
            } catch (IOException e) {
                steps.add("(unreadable history)");
            }
        }
        steps.add(processor + parametersText(JSON.valueToTree(parameters)));
        return "nifi-medprep " + StepRecorder.bundleVersion() + ": " + String.join("; ", steps);
    }

    private static String parametersText(JsonNode parameters) {
        List<String> pairs = new ArrayList<>();
        parameters.properties().forEach(e -> pairs.add(e.getKey() + "=" + (e.getValue().isValueNode()
                ? e.getValue().asText() : e.getValue().toString())));
        return "(" + String.join(", ", pairs) + ")";
    }

    private static boolean present(String value) {
        return value != null && !value.isBlank();
    }

    private static String first(String a, String b, String fallback) {
        return present(a) ? a.strip() : present(b) ? b.strip() : fallback;
    }
}
