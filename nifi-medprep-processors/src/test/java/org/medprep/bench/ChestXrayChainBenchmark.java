/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.bench;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.medprep.image.Image;
import org.medprep.image.PixelDigest;
import org.medprep.io.ColorHandling;
import org.medprep.io.ImageReaders;
import org.medprep.io.JpegReader;
import org.medprep.io.NpyWriter;
import org.medprep.io.OutputFormat;
import org.medprep.io.ReadLimits;
import org.medprep.ops.Clahe;
import org.medprep.ops.Denoise;
import org.medprep.ops.ImageStats;
import org.medprep.ops.Intensity;
import org.medprep.ops.Letterbox;

/**
 * The chest X-ray flow's own work per image, without NiFi, on one thread: the floor that docs/benchmarks.md sets
 * against the NiFi flow and the Python pipeline. For each JPEG (in memory): decode (Color Images = Convert to
 * Grayscale), statistics, SHA-256 pixel digest, NIfTI hand-off written and read back (what ValidateImage's decoded
 * output costs), letterbox 224 × 224 linear, median 3, CLAHE 2.0 / 8 × 8 (256 bins), scale by bit depth + z-score,
 * .npy. Prints milliseconds per image per step for each of 3 passes (the first warms the JIT up).
 *
 * <p>Not a test (no assertions, never run by Surefire). Usage, from the repository root after a build:
 * <pre>
 * mvn -q -pl nifi-medprep-processors dependency:build-classpath -Dmdep.outputFile="$PWD/work/cp.txt"
 * java --enable-native-access=ALL-UNNAMED -cp nifi-medprep-processors/target/classes:\
 *   nifi-medprep-processors/target/test-classes:$(cat work/cp.txt) \
 *   org.medprep.bench.ChestXrayChainBenchmark work/bench/input-1000 [max files=200]
 * </pre>
 */
public final class ChestXrayChainBenchmark {

    private static final String[] STEPS = {"decode", "stats", "sha256", "nifti write", "nifti read", "letterbox",
            "median", "clahe", "scale+z", "npy"};

    private ChestXrayChainBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int max = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        List<byte[]> files = new ArrayList<>();
        try (Stream<Path> s = Files.walk(Path.of(args[0]))) {
            for (Path p : s.filter(x -> x.toString().endsWith(".jpeg")).sorted().limit(max).toList()) {
                files.add(Files.readAllBytes(p));
            }
        }
        System.out.println(files.size() + " JPEGs, JPEG decoder: " + JpegReader.decoderName());
        long[] t = new long[STEPS.length];
        for (int pass = 1; pass <= 3; pass++) {
            java.util.Arrays.fill(t, 0);
            for (byte[] jpeg : files) {
                long t0 = System.nanoTime();
                Image img = ImageReaders.read(jpeg, ReadLimits.DEFAULT, ColorHandling.GRAYSCALE).image();
                long t1 = System.nanoTime();
                ImageStats.of(img);
                long t2 = System.nanoTime();
                PixelDigest.sha256(img);
                long t3 = System.nanoTime();
                ByteArrayOutputStream nifti = new ByteArrayOutputStream(OutputFormat.NIFTI.bufferSizeHint(img));
                OutputFormat.NIFTI.write(img, nifti);
                byte[] handedOn = nifti.toByteArray();
                long t4 = System.nanoTime();
                Image back = ImageReaders.read(handedOn, ReadLimits.DEFAULT).image();
                long t5 = System.nanoTime();
                Image small = Letterbox.apply(back, 224, 224, 0, Letterbox.Interpolation.LINEAR).image();
                long t6 = System.nanoTime();
                Image median = Denoise.median(small, 3);
                long t7 = System.nanoTime();
                Image clahe = Clahe.apply(median, 2.0, 8, 8, Clahe.Bins.BITS_STORED_256);
                long t8 = System.nanoTime();
                Image z = Intensity.zScore(Intensity.scaleByBitDepth(clahe), 0.482, 0.236);
                long t9 = System.nanoTime();
                NpyWriter.write(z, new ByteArrayOutputStream());
                long t10 = System.nanoTime();
                long[] at = {t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10};
                for (int i = 0; i < STEPS.length; i++) {
                    t[i] += at[i + 1] - at[i];
                }
            }
            StringBuilder line = new StringBuilder("pass " + pass + ":");
            long total = 0;
            for (int i = 0; i < STEPS.length; i++) {
                total += t[i];
                line.append(String.format(" %s %.2f |", STEPS[i], t[i] / 1e6 / files.size()));
            }
            System.out.println(line + String.format(" total %.2f ms per image", total / 1e6 / files.size()));
        }
    }
}
