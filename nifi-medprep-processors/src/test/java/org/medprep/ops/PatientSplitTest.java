/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.medprep.testutil.Python;

class PatientSplitTest {

    @Test
    void assignmentEqualsTheDocumentedHashComputedByPython() throws Exception {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            keys.add("person" + i);
        }
        List<String> args = new ArrayList<>(List.of("salt-1", "0.7", "0.15"));
        args.addAll(keys);
        JsonNode ref = Python.json("split_reference.py", args.toArray(String[]::new));
        for (String k : keys) {
            assertEquals(ref.get(k).asText(), PatientSplit.assign("salt-1", k, 0.7, 0.15).label(), k);
        }
    }

    @Test
    void realizedRatiosConvergeAndSaltChangesTheDraw() {
        int n = 100_000;
        Map<PatientSplit.Split, Integer> counts = new EnumMap<>(PatientSplit.Split.class);
        int moved = 0;
        for (int i = 0; i < n; i++) {
            PatientSplit.Split s = PatientSplit.assign("a", "p" + i, 0.7, 0.15);
            counts.merge(s, 1, Integer::sum);
            moved += s == PatientSplit.assign("b", "p" + i, 0.7, 0.15) ? 0 : 1;
        }
        // Binomial standard deviation at n = 100000 is about 0.0015: allow 4 of them.
        assertEquals(0.70, counts.get(PatientSplit.Split.TRAIN) / (double) n, 0.006);
        assertEquals(0.15, counts.get(PatientSplit.Split.VALIDATION) / (double) n, 0.006);
        assertEquals(0.15, counts.get(PatientSplit.Split.TEST) / (double) n, 0.006);
        // Independent draws agree with probability 0.7² + 0.15² + 0.15² = 0.535.
        assertEquals(1 - 0.535, moved / (double) n, 0.01);
    }

    @Test
    void emptyKeysAndBadRatiosAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> PatientSplit.assign("s", "", 0.7, 0.15));
        assertThrows(IllegalArgumentException.class, () -> PatientSplit.assign("s", "k", 0.9, 0.2));
        assertTrue(PatientSplit.position("s", "k") < 1);
    }
}
