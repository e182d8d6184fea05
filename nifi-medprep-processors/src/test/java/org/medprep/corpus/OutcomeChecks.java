/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.medprep.corpus.ProcessorHarness.Outcome;

/**
 * What every (input, processor) outcome must satisfy: nothing thrown out of onTrigger (an OutOfMemoryError
 * included), exactly one transfer, a readable reason on invalid/failure, and a time bound.
 *
 * <p>A readable reason is one sentence of ours, a library's message possibly following after a colon: it starts
 * with a capital letter; it has no control characters, line breaks or other raw bytes (printable ASCII plus a few
 * typographic characters only); no Java class names ({@code java.lang.X}, {@code sun.awt.image.Y}, or a bare
 * {@code FooException}/{@code FooError}), no object hashes ({@code @1a2b3c}), no ": null"; at most 1,000
 * characters.
 */
public final class OutcomeChecks {

    /** Longest a refusal (invalid or failure) may take, ms. */
    public static final long REFUSAL_MS = 2000;
    /** Longest any outcome may take, ms (a success on the corpus' small images included). */
    public static final long ANY_MS = 3000;

    private static final Pattern CLASS_NAME = Pattern.compile("\\b(?:[a-z][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*");
    private static final Pattern BARE_THROWABLE = Pattern.compile("\\b[A-Z][A-Za-z0-9]*(?:Exception|Error)\\b");
    private static final Pattern HASH = Pattern.compile("@[0-9a-fA-F]{4,}");
    private static final Set<Character> TYPOGRAPHIC = Set.of('×', 'µ', '–', '—', '’', '…', '≤', '≥', '°', '²', '³',
            '±');

    private OutcomeChecks() {
    }

    /** Every rule {@code o} breaks, one phrase each; empty when it keeps them all. */
    public static List<String> violations(Outcome o) {
        List<String> v = new ArrayList<>();
        if (o.error() != null) {
            v.add("threw " + o.error());
        }
        if (o.transfers() != 1) {
            v.add("transferred " + o.transfers() + " times (" + o.relationship() + ")");
        }
        boolean refused = o.relationship().equals("invalid") || o.relationship().equals("failure");
        if (refused) {
            String problem = unreadable(o.reason());
            if (problem != null) {
                v.add("reason " + problem);
            }
        }
        long bound = refused ? REFUSAL_MS : ANY_MS;
        if (o.millis() > bound) {
            v.add("took " + o.millis() + " ms (bound " + bound + " ms)");
        }
        return v;
    }

    /** Why {@code reason} is not readable, or null when it is. */
    public static String unreadable(String reason) {
        if (reason == null || reason.isBlank()) {
            return "missing";
        }
        if (!Character.isUpperCase(reason.codePointAt(0))) {
            return "does not start with a capital letter";
        }
        for (int i = 0; i < reason.length(); i++) {
            char c = reason.charAt(i);
            if ((c < 0x20 || c > 0x7E) && !TYPOGRAPHIC.contains(c)) {
                return String.format("holds the character U+%04X at %d", (int) c, i);
            }
        }
        if (CLASS_NAME.matcher(reason).find()) {
            return "names a Java class";
        }
        if (BARE_THROWABLE.matcher(reason).find()) {
            return "names a Java exception";
        }
        if (HASH.matcher(reason).find()) {
            return "holds an object hash";
        }
        if (reason.contains(": null")) {
            return "ends a library message with null";
        }
        if (reason.length() > 1000) {
            return "is " + reason.length() + " characters long";
        }
        return null;
    }
}
