/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.registry;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.apache.nifi.registry.flow.RegisteredFlowSnapshot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

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
        RegisteredFlowSnapshot stored = new RegisteredFlowSnapshot();
        stored.setFlowContents(snapshot.getFlowContents());
        stored.setExternalControllerServices(snapshot.getExternalControllerServices());
        stored.setParameterContexts(snapshot.getParameterContexts());
        stored.setFlowEncodingVersion(snapshot.getFlowEncodingVersion());
        stored.setParameterProviders(snapshot.getParameterProviders());
        stored.setLatest(false);
        return (writer.writeValueAsString(stored) + "\n").getBytes(StandardCharsets.UTF_8);
    }
}
