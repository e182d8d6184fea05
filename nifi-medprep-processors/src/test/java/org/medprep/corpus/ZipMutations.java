/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Series-ZIP mutations (a ZIP of the real DICOM slices of one series, as DicomSeriesZipReader expects): ZIP length
 * fields, header extremes in one or every slice, zip bombs, path-traversal entry names and duplicate entries.
 */
final class ZipMutations {

    private static final long MIB = 1L << 20;
    private static final String[] TRAVERSAL = {"../../etc/x.dcm", "/etc/x.dcm", "..\\..\\x.dcm", "C:\\x.dcm",
            "C:/Windows/x.dcm", "series/../../../../tmp/x.dcm", "//server/share/x.dcm", "./././x.dcm", "",
            "series/\u0000.dcm", "a\u0000/../../x.dcm", "\u0007\n\r.dcm", "series/" + "a".repeat(300) + ".dcm",
            "x.dcm/", "series/..", "~/x.dcm", "%2e%2e/%2e%2e/x.dcm", "series/\u202e.dcm"};

    private ZipMutations() {
    }

    static Change lengthField(List<byte[]> slices, SplittableRandom r) {
        List<ZipBuilder.Field> fields = new ArrayList<>();
        ZipBuilder z = new ZipBuilder();
        for (int i = 0; i < slices.size(); i++) {
            z.add("series/" + i + ".dcm", slices.get(i));
        }
        byte[] b = z.build(fields);
        ZipBuilder.Field f = fields.get(r.nextInt(fields.size()));
        long v = ByteMutations.lengthValue(r, f.value(), f.width(), b.length);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        if (f.width() == 2) {
            bb.putShort(f.offset(), (short) v);
        } else {
            bb.putInt(f.offset(), (int) v);
        }
        return new Change(b, f.label() + " " + f.value() + " -> " + v);
    }

    /** A DICOM header extreme in one slice, or the same one in every slice. */
    static Change headerExtreme(List<byte[]> slices, SplittableRandom r) {
        boolean all = r.nextInt(3) == 0;
        int one = r.nextInt(slices.size());
        long seed = r.nextLong();
        List<byte[]> out = new ArrayList<>();
        String what = null;
        for (int i = 0; i < slices.size(); i++) {
            byte[] s = slices.get(i);
            if (all || i == one) {
                Change c = DicomMutations.headerExtreme(s, new SplittableRandom(seed));
                if (c == null) {
                    return null;
                }
                what = c.what();
                s = c.bytes();
            }
            out.add(s);
        }
        return new Change(Sources.zip(out), (all ? "every slice: " : "slice " + one + ": ") + what);
    }

    static Change bomb(List<byte[]> slices, SplittableRandom r) {
        ZipBuilder z = new ZipBuilder();
        int kind = r.nextInt(6);
        switch (kind) {
            case 0, 1 -> {
                long[] sizes = {256 * MIB, 1024 * MIB, 1536 * MIB, 3584 * MIB};
                long n = sizes[r.nextInt(sizes.length)];
                boolean lie = kind == 1;
                if (r.nextBoolean()) {
                    addAll(z, slices);
                }
                z.add(Bombs.zipEntry(name("series/zeros.dcm"), new byte[0], n, lie ? 1000 : -1));
                return new Change(z.build(), "an entry of " + n / MIB + " MiB of zeros"
                        + (lie ? " declared as 1000 bytes" : ""));
            }
            case 2 -> {
                int n = 200 + r.nextInt(800);
                for (int i = 0; i < n; i++) {
                    z.add(Bombs.zipEntry(name("series/" + i + ".dcm"), new byte[0], MIB, -1));
                }
                return new Change(z.build(), n + " entries of 1 MiB of zeros");
            }
            case 3 -> {
                // real slices declaring 4096 x 4096 16-bit, pixel data all zeros
                int count = 3 + r.nextInt(40);
                int side = r.nextBoolean() ? 4096 : 2048;
                for (int i = 0; i < count; i++) {
                    byte[] slice = slices.get(i % slices.size());
                    byte[] head = bigSliceHead(slice, side, i);
                    if (head == null) {
                        return null;
                    }
                    z.add(Bombs.zipEntry(name("series/" + i + ".dcm"), head, 2L * side * side, -1));
                }
                return new Change(z.build(), count + " slices of " + side + " x " + side
                        + " x 16 bit, pixel data zeros");
            }
            case 4 -> {
                ZipBuilder inner = new ZipBuilder();
                inner.add(Bombs.zipEntry(name("zeros.dcm"), new byte[0], 1024 * MIB, -1));
                addAll(z, slices);
                z.add("series/inner.zip", inner.build());
                return new Change(z.build(), "a nested ZIP holding 1 GiB of zeros");
            }
            default -> {
                // a slice whose pixel data is followed by hundreds of MiB of zeros (a real header, then the flood)
                byte[] slice = slices.get(r.nextInt(slices.size()));
                long n = (64 + r.nextInt(1024)) * MIB;
                addAll(z, slices.subList(1, slices.size()));
                z.add(Bombs.zipEntry(name("series/0.dcm"), slice, n, -1));
                return new Change(z.build(), "a real slice followed by " + n / MIB + " MiB of zeros");
            }
        }
    }

    static Change traversal(List<byte[]> slices, SplittableRandom r) {
        ZipBuilder z = new ZipBuilder();
        boolean all = r.nextInt(3) == 0;
        int one = r.nextInt(slices.size());
        List<String> used = new ArrayList<>();
        for (int i = 0; i < slices.size(); i++) {
            if (all || i == one) {
                String n = ByteMutations.pick(r, TRAVERSAL);
                byte[] raw = r.nextInt(6) == 0 ? new byte[]{'.', '.', (byte) 0xC0, (byte) 0xAF, 'x'}
                        : (all ? n.replace("x.dcm", i + ".dcm") : n).getBytes(StandardCharsets.UTF_8);
                used.add(DicomMutations.esc(new String(raw, StandardCharsets.ISO_8859_1)));
                z.add(raw, slices.get(i));
            } else {
                z.add("series/" + i + ".dcm", slices.get(i));
            }
        }
        String what = (all ? "every entry named like " : "entry " + one + " named ") + used.get(0);
        return new Change(z.build(), what.length() > 120 ? what.substring(0, 120) + "..." : what);
    }

    static Change duplicate(List<byte[]> slices, SplittableRandom r) {
        ZipBuilder z = new ZipBuilder();
        int kind = r.nextInt(5);
        int one = r.nextInt(slices.size());
        switch (kind) {
            case 0 -> {
                addAll(z, slices);
                z.add("series/" + one + ".dcm", slices.get(one));
                return new Change(z.build(), "entry " + one + " twice, same name and content");
            }
            case 1 -> {
                addAll(z, slices);
                int other = (one + 1) % slices.size();
                z.add("series/" + one + ".dcm", slices.get(other));
                return new Change(z.build(), "name of entry " + one + " again, holding slice " + other);
            }
            case 2 -> {
                addAll(z, slices);
                z.add("series/copy.dcm", slices.get(one));
                return new Change(z.build(), "slice " + one + " again under another name");
            }
            case 3 -> {
                int n = 20 + r.nextInt(80);
                for (int i = 0; i < n; i++) {
                    z.add(r.nextBoolean() ? "series/same.dcm" : "series/" + i + ".dcm", slices.get(one));
                }
                return new Change(z.build(), n + " copies of slice " + one);
            }
            default -> {
                addAll(z, slices);
                addAll(z, slices);
                return new Change(z.build(), "every entry twice");
            }
        }
    }

    private static void addAll(ZipBuilder z, List<byte[]> slices) {
        for (int i = 0; i < slices.size(); i++) {
            z.add("series/" + i + ".dcm", slices.get(i));
        }
    }

    private static byte[] name(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A real slice's bytes up to its Pixel Data value, Rows and Columns set to {@code side}, its
     * ImagePositionPatient moved to slice {@code index} (1 mm apart) and the Pixel Data length to 2 side².
     */
    private static byte[] bigSliceHead(byte[] slice, int side, int index) {
        DicomElements d = DicomElements.parse(slice);
        byte[] b = d.withValue(0x00200032, "DS", DicomElements.text("0\\0\\" + index));
        if (b == null) {
            return null;
        }
        d = DicomElements.parse(b);
        b = d.withUs(0x00280010, side);
        b = DicomElements.parse(b).withUs(0x00280011, side);
        d = DicomElements.parse(b);
        DicomElements.Element pd = d.find(0x7FE00010);
        if (pd == null || pd.length() < 0) {
            return null;
        }
        b = d.withLengthField(pd, 2L * side * side);
        return java.util.Arrays.copyOf(b, pd.valueAt());
    }
}
