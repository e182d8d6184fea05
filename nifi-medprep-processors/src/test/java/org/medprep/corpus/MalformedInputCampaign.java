/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.statistics.Statistics;
import org.medprep.corpus.Mutant.Kind;
import org.medprep.corpus.ProcessorHarness.Outcome;

/**
 * The longer campaign (issue 9), property-based with jqwik and left out of the default run (tag "campaign"): each
 * try draws a real source, a mutation kind that applies to its format and a 64-bit seed, makes that one mutant
 * with {@link CorpusGenerator#mutate} and runs every processor on it in this JVM; every outcome must keep
 * {@link OutcomeChecks} (nothing thrown, one transfer, a readable reason, the time bounds). A failure prints the
 * seed and the shrunk (source, kind, seed) that reproduces it.
 *
 * <p>Run (about 16 tries a second on two cores; tries set by jqwik.tries.default; figures in
 * docs/reliability.md):
 * <pre>
 * mvn -B -ntp -o -pl nifi-medprep-processors test -Dtest=MalformedInputCampaign -Dgroups=campaign \
 *     -Dmedprep.excludedGroups=none -Dmedprep.test.xmx=256m -Djqwik.tries.default=2000
 * </pre>
 */
@Tag("campaign")
class MalformedInputCampaign {

    private static final ProcessorHarness HARNESS = warmedUp();

    /** A harness that has run every original once: class loading and native libraries are not timed. */
    private static ProcessorHarness warmedUp() {
        ProcessorHarness h = new ProcessorHarness();
        for (Source s : Sources.get().all()) {
            h.run(s.name() + "~original~0", s.bytes());
        }
        return h;
    }

    @Property(shrinking = net.jqwik.api.ShrinkingMode.BOUNDED)
    void everyProcessorKeepsItsPromisesOnAnyMutant(@ForAll("mutants") Mutant m) {
        Statistics.label("format").collect(m.source().format());
        Statistics.label("kind").collect(m.kind().label);
        List<Outcome> outcomes = HARNESS.run(m.id(), m.bytes());
        StringBuilder problems = new StringBuilder();
        for (Outcome o : outcomes) {
            Statistics.label("relationship").collect(o.processor() + " " + o.relationship());
            for (String v : OutcomeChecks.violations(o)) {
                problems.append("\n").append(o.processor()).append(": ").append(v).append(" -- reason: ")
                        .append(CorpusProbe.escape(o.reason()));
            }
        }
        assertTrue(problems.isEmpty(), m.id() + " [" + m.what() + "]" + problems);
    }

    @Provide
    Arbitrary<Mutant> mutants() {
        List<Source> sources = Sources.get().all();
        Arbitrary<Source> source = Arbitraries.of(sources);
        return source.flatMap(s -> Combinators.combine(Arbitraries.of(CorpusGenerator.kinds(s.format())),
                        Arbitraries.longs())
                .as((kind, seed) -> CorpusGenerator.mutate(s, kind, seed, 0)))
                .filter(m -> m != null && m.kind() != Kind.ORIGINAL);
    }
}
