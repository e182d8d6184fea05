/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.registry;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import org.apache.nifi.registry.flow.RegisteredFlowSnapshot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Reads and writes the flow files: the JSON of NiFi's "Download flow definition" ({@code flowContents},
 * {@code externalControllerServices}, {@code parameterContexts}, {@code flowEncodingVersion},
 * {@code parameterProviders}, {@code latest}). Nothing of a version's metadata (author, time, comment, version,
 * branch, bucket) is written into the file: Git's commit holds it, so the file is the same as a download and a
 * download dropped into the repository is a valid flow. Reading ignores unknown fields, so files written by
 * NiFi's own GitHub/GitLab clients (with {@code flow}, {@code snapshotMetadata}) read too.
 *
 * <p>Output: two-space indentation, one array element per line, {@code "key": value}, LF line ends and a final
 * newline; null fields of components are left out, null map values (unset properties) kept, as in a download.
 * So that a version's diff shows what changed and nothing else:
 * <ul>
 *   <li>{@code instanceIdentifier}s and {@code instanceGroupId}s are left out: they name one NiFi's copy of a
 *       component and differ from one import to the next (NiFi matches components by {@code identifier});</li>
 *   <li>the members of NiFi's unordered collections are sorted: components by {@code identifier}, parameters by
 *       {@code name}, relationship names and resource types alphabetically (ordered lists such as prioritizers and bends keep their
 *       order);</li>
 *   <li>an empty {@code externalControllerServiceReferences} of a group is left out, as in a download;</li>
 *   <li>the top-level group's own {@code identifier}, which a new import gets afresh, can be replaced by the one
 *       the file already holds (see {@link #write(RegisteredFlowSnapshot, String)}).</li>
 * </ul>
 */
public final class FlowSnapshotJson {

    private final ObjectMapper mapper = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .defaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.NON_NULL,
                    JsonInclude.Include.ALWAYS))
            .build();
    private final ObjectWriter writer;

    /** A reader/writer with the output format described in the class comment. */
    public FlowSnapshotJson() {
        DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                        .withObjectEmptySeparator("")
                        .withArrayEmptySeparator(""));
        printer.indentObjectsWith(indenter);
        printer.indentArraysWith(indenter);
        writer = mapper.writer(printer);
    }

    /**
     * Parses a flow file.
     *
     * @param json the file's bytes
     * @return the snapshot (its metadata, flow and bucket are whatever the file holds, usually null)
     * @throws IOException when the bytes are not a flow definition
     */
    public RegisteredFlowSnapshot read(byte[] json) throws IOException {
        RegisteredFlowSnapshot snapshot = mapper.readValue(json, RegisteredFlowSnapshot.class);
        if (snapshot == null || snapshot.getFlowContents() == null) {
            throw new IOException("not a NiFi flow definition: no flowContents");
        }
        return snapshot;
    }

    /**
     * Writes the stored part of a snapshot (see the class comment); the snapshot itself is not changed.
     *
     * @param snapshot the snapshot
     * @return the file's bytes (UTF-8)
     * @throws IOException when serialization fails
     */
    public byte[] write(RegisteredFlowSnapshot snapshot) throws IOException {
        return write(snapshot, null);
    }

    /**
     * Writes the stored part of a snapshot with the top-level group's identifier (and every reference to it)
     * replaced by {@code groupId}, the identifier the stored file already has.
     *
     * @param snapshot the snapshot (not changed)
     * @param groupId the identifier to store for the top-level group, or null to keep the snapshot's
     * @return the file's bytes (UTF-8)
     * @throws IOException when serialization fails
     */
    public byte[] write(RegisteredFlowSnapshot snapshot, String groupId) throws IOException {
        RegisteredFlowSnapshot stored = new RegisteredFlowSnapshot();
        stored.setFlowContents(snapshot.getFlowContents());
        stored.setExternalControllerServices(snapshot.getExternalControllerServices());
        stored.setParameterContexts(snapshot.getParameterContexts());
        stored.setFlowEncodingVersion(snapshot.getFlowEncodingVersion());
        stored.setParameterProviders(snapshot.getParameterProviders());
        stored.setLatest(false);
        JsonNode tree = mapper.valueToTree(stored);
        String ownId = snapshot.getFlowContents().getIdentifier();
        normalize(tree, groupId != null && ownId != null && !groupId.equals(ownId) ? ownId : null, groupId);
        return (writer.writeValueAsString(tree) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The top-level group's identifier in a stored file.
     *
     * @param json the file's bytes
     * @return the identifier, or null when the file has none or is not JSON
     */
    public String groupId(byte[] json) {
        try {
            JsonNode id = mapper.readTree(json).path("flowContents").path("identifier");
            return id.isTextual() ? id.asText() : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static final Set<String> BY_IDENTIFIER = Set.of("processors", "connections", "labels", "funnels",
            "inputPorts", "outputPorts", "controllerServices", "processGroups", "remoteProcessGroups");
    private static final Set<String> STRING_SETS = Set.of("selectedRelationships", "autoTerminatedRelationships",
            "retriedRelationships", "resourceTypes");

    private static void normalize(JsonNode node, String fromId, String toId) {
        if (node instanceof ObjectNode object) {
            object.remove("instanceIdentifier");
            object.remove("instanceGroupId"); // NiFi's instantiated components carry their group's instance id
            JsonNode refs = object.get("externalControllerServiceReferences");
            if (refs != null && refs.isObject() && refs.isEmpty()) {
                object.remove("externalControllerServiceReferences"); // empty: a download has none
            }
            List<String> names = new ArrayList<>();
            object.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                JsonNode child = object.get(name);
                if (fromId != null && child.isTextual() && child.asText().equals(fromId)) {
                    object.set(name, TextNode.valueOf(toId));
                    continue;
                }
                normalize(child, fromId, toId);
                if (child instanceof ArrayNode array) {
                    if (BY_IDENTIFIER.contains(name)) {
                        sort(array, Comparator.comparing(n -> n.path("identifier").asText()));
                    } else if (name.equals("parameters")) {
                        sort(array, Comparator.comparing(n -> n.path("name").asText()));
                    } else if (STRING_SETS.contains(name)) {
                        sort(array, Comparator.comparing(JsonNode::asText));
                    }
                }
            }
        } else if (node instanceof ArrayNode array) {
            for (int i = 0; i < array.size(); i++) {
                JsonNode child = array.get(i);
                if (fromId != null && child.isTextual() && child.asText().equals(fromId)) {
                    array.set(i, TextNode.valueOf(toId));
                } else {
                    normalize(child, fromId, toId);
                }
            }
        }
    }

    private static void sort(ArrayNode array, Comparator<JsonNode> order) {
        List<JsonNode> items = new ArrayList<>();
        array.forEach(items::add);
        items.sort(order);
        array.removeAll();
        items.forEach(array::add);
    }
}
