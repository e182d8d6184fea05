/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.nifi.annotation.behavior.InputRequirement;
import org.apache.nifi.annotation.behavior.SideEffectFree;
import org.apache.nifi.annotation.behavior.SupportsBatching;
import org.apache.nifi.annotation.behavior.SystemResource;
import org.apache.nifi.annotation.behavior.SystemResourceConsideration;
import org.apache.nifi.annotation.behavior.WritesAttribute;
import org.apache.nifi.annotation.behavior.WritesAttributes;
import org.apache.nifi.annotation.documentation.CapabilityDescription;
import org.apache.nifi.annotation.documentation.SeeAlso;
import org.apache.nifi.annotation.documentation.Tags;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.nifi.shared.ImageTransformer;
import org.medprep.nifi.shared.ImageTransformProcessor;
import org.medprep.ops.Letterbox;

/** Letterbox: aspect-preserving resize then centred constant padding ({@link Letterbox}). */
@Tags({"medical imaging", "resize", "letterbox", "padding", "X-ray", "machine learning"})
@CapabilityDescription("Resizes an image to fit Width x Height without distorting it (scale = min(H/h, W/w), "
        + "new size floor(h*scale) x floor(w*scale)), then pads the rest with a constant, centred (top = pad_h // 2, "
        + "left = pad_w // 2): the letterbox of the chest X-ray recipe. Volumes are processed slice by slice. Spacing (mm) and "
        + "origin follow the pixels; the scale and offsets are written so coordinates can be mapped back.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@SystemResourceConsideration(resource = SystemResource.MEMORY, description = "Input and output images are held in memory.")
@WritesAttributes({
        @WritesAttribute(attribute = "medprep.letterbox.scale", description = "min(H/h, W/w)."),
        @WritesAttribute(attribute = "medprep.letterbox.offset.x", description = "Left padding, pixels."),
        @WritesAttribute(attribute = "medprep.letterbox.offset.y", description = "Top padding, pixels."),
        @WritesAttribute(attribute = "medprep.width", description = "Output width (= Width)."),
        @WritesAttribute(attribute = "medprep.height", description = "Output height (= Height)."),
        @WritesAttribute(attribute = "medprep.spacing", description = "Output spacing x,y,z in mm."),
        @WritesAttribute(attribute = "medprep.history", description = "JSON array of processing steps, this one appended."),
        @WritesAttribute(attribute = "medprep.failure.reason", description = "Why the image went to failure."),
        @WritesAttribute(attribute = "mime.type", description = "MIME type of the Output Format."),
        @WritesAttribute(attribute = "filename", description = "Extension replaced by the Output Format's.")
})
@SeeAlso({ValidateImage.class})
public class ResizeWithPadding extends ImageTransformProcessor {

    public static final PropertyDescriptor WIDTH = new PropertyDescriptor.Builder()
            .name("Width")
            .description("Output width W, pixels.")
            .required(true)
            .defaultValue("224")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .build();

    public static final PropertyDescriptor HEIGHT = new PropertyDescriptor.Builder()
            .name("Height")
            .description("Output height H, pixels.")
            .required(true)
            .defaultValue("224")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .build();

    public static final PropertyDescriptor PADDING_VALUE = new PropertyDescriptor.Builder()
            .name("Padding Value")
            .description("Constant written into the padding, in stored-value units (saturated to the voxel type).")
            .required(true)
            .defaultValue("0")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .build();

    public static final PropertyDescriptor INTERPOLATION = new PropertyDescriptor.Builder()
            .name("Interpolation")
            .description("OpenCV resize interpolation: LINEAR (bilinear, the seed's), AREA (best for shrinking), "
                    + "CUBIC (bicubic) or NEAREST (for label maps).")
            .required(true)
            .allowableValues("LINEAR", "AREA", "CUBIC", "NEAREST")
            .defaultValue("LINEAR")
            .build();


    private static final List<PropertyDescriptor> PROPERTIES = List.of(WIDTH, HEIGHT, PADDING_VALUE, INTERPOLATION);

    @Override
    protected List<PropertyDescriptor> transformProperties() {
        return PROPERTIES;
    }

    @Override
    protected ImageTransformer.Operation operation(ProcessContext context) {
        int width = context.getProperty(WIDTH).asInteger();
        int height = context.getProperty(HEIGHT).asInteger();
        double pad = context.getProperty(PADDING_VALUE).asDouble();
        Letterbox.Interpolation interpolation = Letterbox.Interpolation.valueOf(
                context.getProperty(INTERPOLATION).getValue());
        return (image, flowFile) -> {
            Letterbox.Result r = Letterbox.apply(image, width, height, pad, interpolation);
            Map<String, Object> parameters = new LinkedHashMap<>();
            parameters.put("Width", width);
            parameters.put("Height", height);
            parameters.put("Padding Value", pad);
            parameters.put("Interpolation", interpolation.name());
            return new ImageTransformer.Step(r.image(), parameters, Map.of(
                    "medprep.letterbox.scale", Double.toString(r.scale()),
                    "medprep.letterbox.offset.x", Integer.toString(r.offsetX()),
                    "medprep.letterbox.offset.y", Integer.toString(r.offsetY())));
        };
    }
}
