/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

/**
 * One malformed input of the corpus: a real file's bytes changed by one mutation.
 *
 * @param id     unique, file-name safe: {@code <source>~<kind>~<n>}
 * @param source the real file it came from
 * @param kind   the mutation kind
 * @param what   what was changed, in words (ASCII), for the report
 * @param bytes  the mutant's content
 */
public record Mutant(String id, Source source, Kind kind, String what, byte[] bytes) {

    /** The mutation kinds of issue 9. */
    public enum Kind {
        TRUNCATION("truncation"),
        BIT_FLIP("bit-flip"),
        LENGTH_FIELD("length-field"),
        HEADER_EXTREME("header-extreme"),
        ZIP_BOMB("zip-bomb"),
        PATH_TRAVERSAL("path-traversal"),
        DUPLICATE_ENTRY("duplicate-entry"),
        /** The real file unchanged: the corpus' controls (and the warm-up). */
        ORIGINAL("original");

        public final String label;

        Kind(String label) {
            this.label = label;
        }

        /** The kind with this label. */
        public static Kind of(String label) {
            for (Kind k : values()) {
                if (k.label.equals(label)) {
                    return k;
                }
            }
            throw new IllegalArgumentException(label);
        }
    }
}
