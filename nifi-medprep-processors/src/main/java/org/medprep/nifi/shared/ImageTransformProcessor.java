/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi.shared;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.nifi.annotation.lifecycle.OnScheduled;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.processor.AbstractProcessor;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.ProcessSession;
import org.apache.nifi.processor.ProcessorInitializationContext;
import org.apache.nifi.processor.Relationship;

/**
 * Base of the transforming processors (ResizeWithPadding, Denoise, ApplyCLAHE, Normalize): the {@code success} and
 * {@code failure} relationships, the Color Images and Output Format properties after the processor's own
 * properties, and an
 * {@code onTrigger} that runs {@link ImageTransformer}'s single path with the processor's {@link #operation}.
 * A subclass is its annotations, its property constants, {@link #transformProperties()} and {@link #operation}.
 */
public abstract class ImageTransformProcessor extends AbstractProcessor {

    public static final Relationship REL_SUCCESS = new Relationship.Builder()
            .name("success")
            .description("Transformed images, encoded in the Output Format.")
            .build();

    public static final Relationship REL_FAILURE = new Relationship.Builder()
            .name("failure")
            .description("Images that could not be read or transformed, content unchanged; medprep.failure.reason "
                    + "says why.")
            .build();

    private volatile Set<Relationship> relationships = Set.of(REL_SUCCESS, REL_FAILURE);

    private volatile ImageTransformer.Settings settings;

    private volatile List<PropertyDescriptor> properties = List.of(ColorImagesProperty.COLOR_IMAGES,
            OutputFormatProperty.OUTPUT_FORMAT);

    /** The processor's own properties, in display order; Color Images and Output Format are appended. */
    protected abstract List<PropertyDescriptor> transformProperties();

    /**
     * The operation for the current property values, called once each time the processor is scheduled
     * (@OnScheduled), so property values are read and parsed once, not per FlowFile.
     *
     * @throws IllegalArgumentException from the returned operation when an image or value is unsuitable (the
     *                                  FlowFile then goes to failure with the message as reason)
     */
    protected abstract ImageTransformer.Operation operation(ProcessContext context);

    /**
     * A relationship for the operation's companion image ({@link ImageTransformer.Step#companion()}), added to
     * success and failure; null (the default) for none.
     */
    protected Relationship companionRelationship() {
        return null;
    }

    /** Inserted before the extension of the companion FlowFile's filename, e.g. "_bias". */
    protected String companionSuffix() {
        return "_companion";
    }

    @Override
    protected void init(ProcessorInitializationContext context) {
        Relationship companion = companionRelationship();
        if (companion != null) {
            relationships = Set.of(REL_SUCCESS, REL_FAILURE, companion);
        }
        List<PropertyDescriptor> all = new ArrayList<>(transformProperties());
        all.add(ColorImagesProperty.COLOR_IMAGES);
        all.add(OutputFormatProperty.OUTPUT_FORMAT);
        properties = List.copyOf(all);
    }

    @Override
    protected final List<PropertyDescriptor> getSupportedPropertyDescriptors() {
        return properties;
    }

    @Override
    public final Set<Relationship> getRelationships() {
        return relationships;
    }

    /** The operation and the shared properties, resolved once per scheduling (not per FlowFile). */
    @OnScheduled
    public final void resolveSettings(ProcessContext context) {
        settings = ImageTransformer.Settings.of(context, operation(context));
    }

    @Override
    public final void onTrigger(ProcessContext context, ProcessSession session) {
        ImageTransformer.onTrigger(settings, session, getLogger(), getClass().getSimpleName(), REL_SUCCESS,
                REL_FAILURE, companionRelationship(), companionSuffix());
    }
}
