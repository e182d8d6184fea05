/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi.shared;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.flowfile.FlowFile;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.ProcessSession;
import org.apache.nifi.processor.Relationship;

/**
 * Records one processing step: appends {@code {"processor", "version", "parameters", "ms"}} (plus
 * {@code "outcome"} for routing steps) to the JSON array in the {@code medprep.history} attribute and emits exactly
 * one explicit provenance event whose details are the same JSON object, so a FlowFile's lineage in NiFi's
 * provenance repository and its history attribute tell the same story.
 */
public final class StepRecorder {

    /** JSON array of the steps a FlowFile went through, oldest first. */
    public static final String HISTORY = "medprep.history";

    private static final ObjectMapper JSON = new ObjectMapper();

    private StepRecorder() {
    }

    private static final String VERSION = readVersion();

    /** Version of this bundle, from {@code org/medprep/version.properties} (written by the Maven build). */
    public static String bundleVersion() {
        return VERSION;
    }

    private static String readVersion() {
        try (java.io.InputStream in = StepRecorder.class.getResourceAsStream("/org/medprep/version.properties")) {
            java.util.Properties p = new java.util.Properties();
            if (in != null) {
                p.load(in);
            }
            String v = p.getProperty("version");
            return v == null || v.isBlank() || v.contains("${") ? "unknown" : v.strip();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    /**
     * The value a user configured for {@code property}, or its default, without evaluating Expression Language:
     * what a step records as its parameter (e.g. "${medprep.patient.key}", not one FlowFile's key).
     */
    public static String configured(ProcessContext context, PropertyDescriptor property) {
        String value = context.getProperties().get(property);
        return value == null ? property.getDefaultValue() : value;
    }

    /** Records a content-changing step: history attribute plus one CONTENT_MODIFIED event. */
    public static FlowFile contentModified(ProcessSession session, FlowFile flowFile, String processor,
                                           Map<String, ?> parameters, long millis) {
        ObjectNode step = step(processor, parameters, millis, null);
        FlowFile out = append(session, flowFile, step);
        session.getProvenanceReporter().modifyContent(out, step.toString(), millis);
        return out;
    }

    /**
     * Records a step that replaced the content and chose a relationship (e.g. ValidateImage writing the decoded
     * image to valid): history attribute with {@code "outcome"} plus one CONTENT_MODIFIED event.
     */
    public static FlowFile contentModified(ProcessSession session, FlowFile flowFile, String processor,
                                           Map<String, ?> parameters, String outcome, long millis) {
        ObjectNode step = step(processor, parameters, millis, outcome);
        FlowFile out = append(session, flowFile, step);
        session.getProvenanceReporter().modifyContent(out, step.toString(), millis);
        return out;
    }

    /** Records a routing step (content unchanged): history attribute plus one ROUTE event. */
    public static FlowFile routed(ProcessSession session, FlowFile flowFile, String processor,
                                  Map<String, ?> parameters, Relationship relationship, String reason, long millis) {
        ObjectNode step = step(processor, parameters, millis, relationship.getName());
        if (reason != null) {
            step.put("reason", reason);
        }
        FlowFile out = append(session, flowFile, step);
        session.getProvenanceReporter().route(out, relationship, step.toString(), millis);
        return out;
    }

    private static ObjectNode step(String processor, Map<String, ?> parameters, long millis, String outcome) {
        ObjectNode step = JSON.createObjectNode();
        step.put("processor", processor);
        step.put("version", bundleVersion());
        step.set("parameters", JSON.valueToTree(parameters));
        if (outcome != null) {
            step.put("outcome", outcome);
        }
        step.put("ms", millis);
        return step;
    }

    private static FlowFile append(ProcessSession session, FlowFile flowFile, ObjectNode step) {
        ArrayNode history;
        String existing = flowFile.getAttribute(HISTORY);
        try {
            history = existing != null && JSON.readTree(existing) instanceof ArrayNode a ? a : JSON.createArrayNode();
        } catch (JsonProcessingException e) {
            history = JSON.createArrayNode();
        }
        history.add(step);
        return session.putAttribute(flowFile, HISTORY, history.toString());
    }
}
