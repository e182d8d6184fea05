/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.nifi.annotation.behavior.InputRequirement;
import org.apache.nifi.annotation.behavior.ReadsAttribute;
import org.apache.nifi.annotation.behavior.SideEffectFree;
import org.apache.nifi.annotation.behavior.SupportsBatching;
import org.apache.nifi.annotation.behavior.WritesAttribute;
import org.apache.nifi.annotation.behavior.WritesAttributes;
import org.apache.nifi.annotation.documentation.CapabilityDescription;
import org.apache.nifi.annotation.documentation.SeeAlso;
import org.apache.nifi.annotation.documentation.Tags;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.components.ValidationContext;
import org.apache.nifi.components.ValidationResult;
import org.apache.nifi.expression.ExpressionLanguageScope;
import org.apache.nifi.flowfile.FlowFile;
import org.apache.nifi.processor.AbstractProcessor;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.ProcessSession;
import org.apache.nifi.processor.Relationship;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.nifi.shared.StepRecorder;
import org.medprep.ops.PatientSplit;

/** Patient-level train/validation/test split by hashing a group key ({@link PatientSplit}). */
@Tags({"medical imaging", "machine learning", "split", "patient-level split", "train", "validation", "test", "leakage"})
@CapabilityDescription("Routes each FlowFile to train, validation or test by a salted SHA-256 hash of its group key "
        + "(default: the patient pseudonym written by ValidateImage), so every image of one patient lands in one "
        + "split - on any node, in any order, after any restart, with no shared state. Content is unchanged.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@ReadsAttribute(attribute = "medprep.patient.key", description = "The default group key.")
@WritesAttributes({
        @WritesAttribute(attribute = "medprep.split", description = "train, validation or test."),
        @WritesAttribute(attribute = "medprep.history", description = "JSON array of processing steps, this one appended."),
        @WritesAttribute(attribute = "medprep.failure.reason", description = "Why the FlowFile went to failure (empty key).")
})
@SeeAlso({ValidateImage.class})
public class SplitByPatient extends AbstractProcessor {

    public static final PropertyDescriptor GROUP_KEY = new PropertyDescriptor.Builder()
            .name("Group Key")
            .description("Expression giving the key that must not be split across train/validation/test: the patient "
                    + "pseudonym by default. A FlowFile whose key is empty goes to failure.")
            .required(true)
            .defaultValue("${medprep.patient.key}")
            .expressionLanguageSupported(ExpressionLanguageScope.FLOWFILE_ATTRIBUTES)
            .addValidator(StandardValidators.NON_EMPTY_EL_VALIDATOR)
            .build();

    public static final PropertyDescriptor SALT = new PropertyDescriptor.Builder()
            .name("Salt")
            .description("Mixed into the hash: another salt draws another, independent split.")
            .required(true)
            .defaultValue("medprep")
            .expressionLanguageSupported(ExpressionLanguageScope.ENVIRONMENT)
            .addValidator(StandardValidators.NON_EMPTY_VALIDATOR)
            .build();

    public static final PropertyDescriptor TRAIN_RATIO = ratio("Train Ratio", "0.70");
    public static final PropertyDescriptor VALIDATION_RATIO = ratio("Validation Ratio", "0.15");
    public static final PropertyDescriptor TEST_RATIO = ratio("Test Ratio", "0.15");

    public static final Relationship REL_TRAIN = new Relationship.Builder()
            .name("train").description("FlowFiles whose key hashes into the train share.").build();
    public static final Relationship REL_VALIDATION = new Relationship.Builder()
            .name("validation").description("FlowFiles whose key hashes into the validation share.").build();
    public static final Relationship REL_TEST = new Relationship.Builder()
            .name("test").description("FlowFiles whose key hashes into the test share.").build();
    public static final Relationship REL_FAILURE = new Relationship.Builder()
            .name("failure").description("FlowFiles with a missing or empty group key.").build();

    private static final List<PropertyDescriptor> PROPERTIES = List.of(GROUP_KEY, SALT, TRAIN_RATIO, VALIDATION_RATIO,
            TEST_RATIO);
    private static final Set<Relationship> RELATIONSHIPS = Set.of(REL_TRAIN, REL_VALIDATION, REL_TEST, REL_FAILURE);

    private static PropertyDescriptor ratio(String name, String value) {
        return new PropertyDescriptor.Builder()
                .name(name)
                .description("Expected share of keys, 0-1; the three ratios must sum to 1.")
                .required(true)
                .defaultValue(value)
                .expressionLanguageSupported(ExpressionLanguageScope.ENVIRONMENT)
                .addValidator(StandardValidators.createNonNegativeFloatingPointValidator(1))
                .build();
    }

    @Override
    protected List<PropertyDescriptor> getSupportedPropertyDescriptors() {
        return PROPERTIES;
    }

    @Override
    public Set<Relationship> getRelationships() {
        return RELATIONSHIPS;
    }

    @Override
    protected Collection<ValidationResult> customValidate(ValidationContext context) {
        List<ValidationResult> results = new ArrayList<>();
        try {
            double sum = context.getProperty(TRAIN_RATIO).evaluateAttributeExpressions().asDouble()
                    + context.getProperty(VALIDATION_RATIO).evaluateAttributeExpressions().asDouble()
                    + context.getProperty(TEST_RATIO).evaluateAttributeExpressions().asDouble();
            if (Math.abs(sum - 1) > 1e-6) {
                results.add(new ValidationResult.Builder().subject("Ratios").valid(false)
                        .explanation("Train, Validation and Test Ratio sum to " + sum + ", not 1").build());
            }
        } catch (NumberFormatException e) {
            results.add(new ValidationResult.Builder().subject("Ratios").valid(false)
                    .explanation("ratios must be numbers: " + e.getMessage()).build());
        }
        return results;
    }

    @Override
    public void onTrigger(ProcessContext context, ProcessSession session) {
        FlowFile flowFile = session.get();
        if (flowFile == null) {
            return;
        }
        long start = System.nanoTime();
        String salt = context.getProperty(SALT).evaluateAttributeExpressions().getValue();
        double train = context.getProperty(TRAIN_RATIO).evaluateAttributeExpressions().asDouble();
        double validation = context.getProperty(VALIDATION_RATIO).evaluateAttributeExpressions().asDouble();
        // The configured expression itself (not evaluated), as ValidateImage records its raw values.
        String groupKeyExpression = StepRecorder.configured(context, GROUP_KEY);
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("Group Key", groupKeyExpression);
        parameters.put("Train Ratio", train);
        parameters.put("Validation Ratio", validation);
        parameters.put("Test Ratio", context.getProperty(TEST_RATIO).evaluateAttributeExpressions().asDouble());
        String key = context.getProperty(GROUP_KEY).evaluateAttributeExpressions(flowFile).getValue();
        long millis = (System.nanoTime() - start) / 1_000_000;
        if (key == null || key.isBlank()) {
            String reason = "The group key " + groupKeyExpression + " is missing or empty.";
            FlowFile failed = session.putAttribute(flowFile, "medprep.failure.reason", reason);
            failed = StepRecorder.routed(session, failed, "SplitByPatient", parameters, REL_FAILURE, reason, millis);
            session.transfer(failed, REL_FAILURE);
            return;
        }
        PatientSplit.Split split = PatientSplit.assign(salt, key, train, validation);
        Relationship relationship = switch (split) {
            case TRAIN -> REL_TRAIN;
            case VALIDATION -> REL_VALIDATION;
            case TEST -> REL_TEST;
        };
        FlowFile out = session.putAttribute(flowFile, "medprep.split", split.label());
        out = StepRecorder.routed(session, out, "SplitByPatient", parameters, relationship, null, millis);
        session.transfer(out, relationship);
    }
}
