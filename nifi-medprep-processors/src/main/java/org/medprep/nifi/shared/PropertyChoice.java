/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi.shared;

import org.apache.nifi.components.DescribedValue;

/**
 * A choice of a property, implemented by an enum (for {@code allowableValues(X.class)}): the value stored in the
 * flow is the constant's name, the UI shows {@link Text#displayName()} and {@link Text#description()}.
 */
public interface PropertyChoice extends DescribedValue {

    /** What the UI shows for a choice. */
    record Text(String displayName, String description) {
    }

    /** The enum constant's name (implemented by every enum). */
    String name();

    /** The constant's display name and description. */
    Text text();

    @Override
    default String getValue() {
        return name();
    }

    @Override
    default String getDisplayName() {
        return text().displayName();
    }

    @Override
    default String getDescription() {
        return text().description();
    }
}
