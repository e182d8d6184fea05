/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.nifi.components.ValidationResult;
import org.apache.nifi.processor.Processor;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every property value that a committed flow definition ({@code flows/medprep/*.json}) gives one of our processors
 * is still valid for that processor: a renamed choice value (e.g. Normalize's Method becoming enum constants) or a
 * removed property would otherwise surface only when NiFi loads the flow. Values that reference a parameter
 * ({@code #{...}}) are not checked here (the end-to-end tests set the parameters).
 */
class FlowDefinitionPropertiesTest {

    static Stream<Path> flows() throws Exception {
        try (Stream<Path> s = Files.list(Path.of("..", "flows", "medprep"))) {
            return s.filter(p -> p.toString().endsWith(".json")).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("flows")
    void ourProcessorsAcceptTheFlowsPropertyValues(Path flow) throws Exception {
        JsonNode root = new ObjectMapper().readTree(flow.toFile());
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (JsonNode p : processors(root.get("flowContents"))) {
            String type = p.get("type").asText();
            if (!type.startsWith("org.medprep.nifi.")) {
                continue;
            }
            @SuppressWarnings("unchecked")
            Class<? extends Processor> cls = (Class<? extends Processor>) Class.forName(type);
            TestRunner runner = TestRunners.newTestRunner(cls);
            var supported = runner.getProcessor().getPropertyDescriptors();
            for (Map.Entry<String, JsonNode> e : p.get("properties").properties()) {
                String name = e.getKey();
                if (supported.stream().noneMatch(d -> d.getName().equals(name))) {
                    problems.add(p.get("name").asText() + ": no property " + name);
                    continue;
                }
                if (e.getValue().isNull() || e.getValue().asText().contains("#{")) {
                    continue;
                }
                ValidationResult r = runner.setProperty(name, e.getValue().asText());
                checked++;
                if (!r.isValid()) {
                    problems.add(p.get("name").asText() + ": " + name + " = " + e.getValue().asText() + ": "
                            + r.getExplanation());
                }
            }
        }
        assertTrue(problems.isEmpty(), flow + ": " + problems);
        assertTrue(checked > 0 || !Files.readString(flow).contains("org.medprep.nifi."), "nothing checked");
    }

    private static List<JsonNode> processors(JsonNode group) {
        List<JsonNode> out = new ArrayList<>();
        group.path("processors").forEach(out::add);
        group.path("processGroups").forEach(g -> out.addAll(processors(g)));
        return out;
    }
}
