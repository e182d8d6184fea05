/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;
import org.medprep.corpus.Mutant.Kind;
import org.medprep.corpus.Source.Format;

/**
 * The malformed-input corpus: every {@link Sources source} mutated a fixed number of times per mutation kind, each
 * mutant from its own {@link SplittableRandom} seeded by (corpus seed, source, kind, index), so the same seed gives
 * the same bytes in any order and on any machine. {@link #mutate} makes one mutant, for the jqwik campaign.
 */
public final class CorpusGenerator {

    /** The default run's seed. */
    public static final long SEED = 20261123L;

    /** Mutants per source for each format and kind (the default run). */
    static final Map<Format, Map<Kind, Integer>> COUNTS = new EnumMap<>(Format.class);

    static {
        counts(Format.DICOM, 14, 14, 20, 40, 0, 0, 0);
        counts(Format.JPEG, 12, 16, 20, 30, 0, 0, 0);
        counts(Format.PNG, 10, 14, 16, 24, 0, 0, 0);
        counts(Format.TIFF, 10, 12, 16, 24, 0, 0, 0);
        counts(Format.NIFTI, 10, 12, 20, 40, 0, 0, 0);
        counts(Format.NIFTI_GZ, 10, 12, 12, 20, 6, 0, 0);
        counts(Format.SERIES_ZIP, 24, 28, 48, 80, 16, 32, 24);
    }

    private static final int ATTEMPTS = 20;

    private CorpusGenerator() {
    }

    private static void counts(Format f, int trunc, int flip, int length, int header, int bomb, int traversal,
                               int duplicate) {
        Map<Kind, Integer> m = new EnumMap<>(Kind.class);
        int[] n = {trunc, flip, length, header, bomb, traversal, duplicate};
        Kind[] k = {Kind.TRUNCATION, Kind.BIT_FLIP, Kind.LENGTH_FIELD, Kind.HEADER_EXTREME, Kind.ZIP_BOMB,
                Kind.PATH_TRAVERSAL, Kind.DUPLICATE_ENTRY};
        for (int i = 0; i < k.length; i++) {
            if (n[i] > 0) {
                m.put(k[i], n[i]);
            }
        }
        COUNTS.put(f, m);
    }

    /** The mutation kinds that apply to a format. */
    public static List<Kind> kinds(Format f) {
        return List.copyOf(COUNTS.get(f).keySet());
    }

    /** The whole corpus for {@code seed}: each source unchanged first (the controls), then its mutants. */
    public static List<Mutant> generate(long seed) {
        List<Mutant> out = new ArrayList<>();
        for (Source s : Sources.get().all()) {
            out.add(new Mutant(s.name() + "~original~0", s, Kind.ORIGINAL, "unchanged", s.bytes()));
        }
        for (Source s : Sources.get().all()) {
            for (Map.Entry<Kind, Integer> e : COUNTS.get(s.format()).entrySet()) {
                for (int i = 0; i < e.getValue(); i++) {
                    Mutant m = mutate(s, e.getKey(), mix(seed, s.name(), e.getKey(), i), i);
                    if (m != null) {
                        out.add(m);
                    }
                }
            }
        }
        return out;
    }

    /** One mutant of {@code s} of kind {@code k} from {@code seed}; null when none of the attempts applied. */
    public static Mutant mutate(Source s, Kind k, long seed, int index) {
        SplittableRandom r = new SplittableRandom(seed);
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Change c = change(s, k, r);
            if (c != null) {
                return new Mutant(s.name() + "~" + k.label + "~" + index, s, k, c.what(), c.bytes());
            }
        }
        return null;
    }

    private static Change change(Source s, Kind k, SplittableRandom r) {
        byte[] b = s.bytes();
        return switch (s.format()) {
            case DICOM -> switch (k) {
                case TRUNCATION -> ByteMutations.truncate(b, r, 128, 132, 144, pixelDataStart(b));
                case BIT_FLIP -> ByteMutations.flip(b, r);
                case LENGTH_FIELD -> DicomMutations.lengthField(b, r);
                case HEADER_EXTREME -> DicomMutations.headerExtreme(b, r);
                default -> null;
            };
            case JPEG -> switch (k) {
                case TRUNCATION -> ByteMutations.truncate(b, r, 2, 20, scanStart(b));
                case BIT_FLIP -> r.nextBoolean() ? ByteMutations.flip(b, r)
                        : ByteMutations.flip(b, r, scanStart(b), b.length);
                case LENGTH_FIELD -> PictureMutations.jpegLength(b, r);
                case HEADER_EXTREME -> PictureMutations.jpegHeader(b, r);
                default -> null;
            };
            case PNG -> switch (k) {
                case TRUNCATION -> ByteMutations.truncate(b, r, 8, 16, 33, 41);
                case BIT_FLIP -> r.nextBoolean() ? ByteMutations.flip(b, r) : PictureMutations.pngDataFlip(b, r);
                case LENGTH_FIELD -> PictureMutations.pngLength(b, r);
                case HEADER_EXTREME -> PictureMutations.pngHeader(b, r);
                default -> null;
            };
            case TIFF -> switch (k) {
                case TRUNCATION -> ByteMutations.truncate(b, r, 4, 8, 16);
                case BIT_FLIP -> ByteMutations.flip(b, r);
                case LENGTH_FIELD -> PictureMutations.tiffLength(b, r);
                case HEADER_EXTREME -> PictureMutations.tiffHeader(b, r);
                default -> null;
            };
            case NIFTI -> switch (k) {
                case TRUNCATION -> ByteMutations.truncate(b, r, 4, 40, 108, 348, 352);
                case BIT_FLIP -> r.nextBoolean() ? ByteMutations.flip(b, r, 0, 352) : ByteMutations.flip(b, r);
                case LENGTH_FIELD -> NiftiMutations.lengthField(b, r);
                case HEADER_EXTREME -> NiftiMutations.headerExtreme(b, r);
                default -> null;
            };
            case NIFTI_GZ -> gz(b, k, r);
            case SERIES_ZIP -> {
                List<byte[]> slices = Sources.get().slices(s);
                yield switch (k) {
                    case TRUNCATION -> ByteMutations.truncate(b, r, 4, 30, 60, b.length - 22);
                    case BIT_FLIP -> ByteMutations.flip(b, r);
                    case LENGTH_FIELD -> ZipMutations.lengthField(slices, r);
                    case HEADER_EXTREME -> ZipMutations.headerExtreme(slices, r);
                    case ZIP_BOMB -> ZipMutations.bomb(slices, r);
                    case PATH_TRAVERSAL -> ZipMutations.traversal(slices, r);
                    case DUPLICATE_ENTRY -> ZipMutations.duplicate(slices, r);
                    default -> null;
                };
            }
        };
    }

    /**
     * .nii.gz: truncation and bit flips of the gzip bytes or (half the flips) of the .nii inside; length and header
     * mutations of the .nii inside, gzipped again; bombs as gzip members of zeros after a real header.
     */
    private static Change gz(byte[] gz, Kind k, SplittableRandom r) {
        byte[] nii = gunzip(gz);
        Change inner = switch (k) {
            case TRUNCATION -> null;
            case BIT_FLIP -> r.nextBoolean() ? null : ByteMutations.flip(nii, r, 0, 352);
            case LENGTH_FIELD -> NiftiMutations.lengthField(nii, r);
            case HEADER_EXTREME -> NiftiMutations.headerExtreme(nii, r);
            case ZIP_BOMB -> gzBomb(nii, r);
            default -> null;
        };
        if (inner != null) {
            return k == Kind.ZIP_BOMB ? inner : new Change(Sources.gzip(inner.bytes()), "inside: " + inner.what());
        }
        return switch (k) {
            case TRUNCATION -> ByteMutations.truncate(gz, r, 10, 20);
            case BIT_FLIP -> ByteMutations.flip(gz, r);
            default -> null;
        };
    }

    /** A real NIfTI header followed by gzip members of zeros: declared honestly large, or small with a flood. */
    private static Change gzBomb(byte[] nii, SplittableRandom r) {
        ByteBuffer bb = ByteBuffer.wrap(nii.clone()).order(ByteOrder.LITTLE_ENDIAN);
        if (bb.getInt(0) != 348) {
            bb.order(ByteOrder.BIG_ENDIAN);
        }
        int off = Math.max(352, (int) bb.getFloat(108));
        byte[] header = java.util.Arrays.copyOf(bb.array(), off);
        ByteBuffer hb = ByteBuffer.wrap(header).order(bb.order());
        long flood;
        String what;
        int variant = r.nextInt(3);
        if (variant < 2) {
            // 0: honest and large (up to 8 GiB declared); 1: honest, 40-180 MiB, within what a reader may decode
            int[] sides = {1024, 2048, 4096};
            int side = variant == 1 ? 1024 : sides[r.nextInt(sides.length)];
            int slices = variant == 1 ? 20 + r.nextInt(70) : 1 + r.nextInt(256);
            hb.putShort(40, (short) 3).putShort(42, (short) side).putShort(44, (short) side)
                    .putShort(46, (short) slices).putShort(70, (short) 4).putShort(72, (short) 16);
            flood = Math.min(2L * side * side * slices, 1536L << 20);
            what = "header declaring " + side + " x " + side + " x " + slices + " int16, " + (flood >> 20)
                    + " MiB of zeros";
        } else {
            flood = (long) (64 + r.nextInt(1500)) << 20;
            what = "the real header and data followed by " + (flood >> 20) + " MiB of zeros";
            header = nii;
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes(Bombs.gzipMember(header, 0));
        long left = flood;
        while (left > 0) {
            long part = Math.min(left, 512L << 20);
            out.writeBytes(Bombs.gzipMember(new byte[0], part));
            left -= part;
        }
        return new Change(out.toByteArray(), what);
    }

    private static int pixelDataStart(byte[] b) {
        DicomElements.Element e = DicomElements.parse(b).find(0x7FE00010);
        return e == null ? b.length / 2 : e.valueAt();
    }

    private static int scanStart(byte[] b) {
        for (int i = 2; i + 1 < b.length; i++) {
            if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == 0xDA) {
                return Math.min(b.length - 1, i + 14);
            }
        }
        return b.length / 2;
    }

    static byte[] gunzip(byte[] gz) {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A seed for (corpus seed, source, kind, index), independent of the order mutants are made in. */
    static long mix(long seed, String source, Kind kind, int index) {
        long h = seed;
        for (char c : (source + "|" + kind.label + "|" + index).toCharArray()) {
            h = h * 0x100000001B3L ^ c;
        }
        return new SplittableRandom(h).nextLong();
    }
}
