/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.nifi.annotation.behavior.InputRequirement;
import org.apache.nifi.annotation.behavior.SideEffectFree;
import org.apache.nifi.annotation.behavior.SupportsBatching;
import org.apache.nifi.annotation.behavior.WritesAttribute;
import org.apache.nifi.annotation.behavior.WritesAttributes;
import org.apache.nifi.annotation.documentation.CapabilityDescription;
import org.apache.nifi.annotation.documentation.Tags;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.nifi.shared.ImageTransformer;
import org.medprep.nifi.shared.ImageTransformProcessor;
import org.medprep.ops.Clahe;

/** Contrast Limited Adaptive Histogram Equalization over OpenCV ({@link Clahe}). */
@Tags({"medical imaging", "CLAHE", "contrast", "histogram equalization", "X-ray", "OpenCV"})
@CapabilityDescription("Applies CLAHE (OpenCV) slice by slice: 8- and 16-bit natively; int16 and float images are "
        + "mapped from their own range onto 16 bits, equalized and mapped back. Defaults are the seed guide's clip "
        + "limit 2.0 and an 8 x 8 tile grid.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@WritesAttributes({
        @WritesAttribute(attribute = "medprep.history", description = "JSON array of processing steps, this one appended."),
        @WritesAttribute(attribute = "medprep.failure.reason", description = "Why the image went to failure."),
        @WritesAttribute(attribute = "mime.type", description = "MIME type of the Output Format.")
})
public class ApplyCLAHE extends ImageTransformProcessor {

    public static final PropertyDescriptor CLIP_LIMIT = new PropertyDescriptor.Builder()
            .name("Clip Limit")
            .description("OpenCV clip limit, relative to the mean histogram bin count per tile (OpenCV default 40; "
                    + "2.0 is common for chest X-rays).")
            .required(true)
            .defaultValue("2.0")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .build();

    public static final PropertyDescriptor TILE_COLUMNS = new PropertyDescriptor.Builder()
            .name("Tile Grid Columns")
            .description("Number of tiles across the image.")
            .required(true)
            .defaultValue("8")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .build();

    public static final PropertyDescriptor TILE_ROWS = new PropertyDescriptor.Builder()
            .name("Tile Grid Rows")
            .description("Number of tiles down the image.")
            .required(true)
            .defaultValue("8")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .build();


    private static final List<PropertyDescriptor> PROPERTIES = List.of(CLIP_LIMIT, TILE_COLUMNS, TILE_ROWS);

    @Override
    protected List<PropertyDescriptor> transformProperties() {
        return PROPERTIES;
    }

    @Override
    protected ImageTransformer.Operation operation(ProcessContext context) {
        double clip = context.getProperty(CLIP_LIMIT).asDouble();
        int columns = context.getProperty(TILE_COLUMNS).asInteger();
        int rows = context.getProperty(TILE_ROWS).asInteger();
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("Clip Limit", clip);
        parameters.put("Tile Grid Columns", columns);
        parameters.put("Tile Grid Rows", rows);
        return (image, flowFile) -> new ImageTransformer.Step(Clahe.apply(image, clip, columns, rows), parameters);
    }
}
