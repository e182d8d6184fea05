/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.medprep.image.Image;
import org.medprep.io.NiftiReader;
import org.medprep.io.NiftiWriter;
import org.medprep.io.ReadLimits;
import org.medprep.testutil.N4RefTool;

/**
 * {@link N4BiasField} against ITK 5.2's N4BiasFieldCorrectionImageFilter (tools/n4ref, run through
 * {@link N4RefTool}) on real T1 MR volumes: Debian mricron-data's {@code ch2.nii.gz} (Colin27, uint8,
 * 181 × 217 × 181, 1 mm) and nibabel's {@code anatomical.nii} (int16, 33 × 41 × 25, 2 mm). Same settings on both
 * sides: Otsu mask, shrink 4, 50 × 50 × 50 × 50 iterations, convergence threshold 1e-7 (so the iteration counts
 * decide), ITK's other defaults. ITK reads the original file; we read it with {@link NiftiReader}. In 2D, one
 * axial slice of each (anatomical z = 12: 33 × 41; ch2 z = 90: 181 × 217, and cropped to 180 × 216, even sizes
 * whose shrunk grid starts half-way between voxels, 1.5, where ITK rounds the start up), written by our NIfTI
 * writer, against {@code N4Ref2D} (N4Ref.cxx with image dimension 2).
 *
 * <p>Checked inside our Otsu mask: the log-bias fields (log of the two bias-field outputs) correlate with
 * Pearson r ≥ 0.99, and the corrected intensities agree to a median absolute relative difference ≤ 2 %. The
 * figures and both wall times (ours in-process, ITK's the whole tool run including reading and writing) are printed.
 */
class N4ItkReferenceTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii",
            "/usr/share/mricron/templates/ch2.nii.gz"})
    void realMrMatchesItk(String file, @TempDir Path tmp) throws Exception {
        Path in = Path.of(file);
        assertTrue(Files.isReadable(in), "the real MR volume " + in + " is missing (Debian packages python3-nibabel "
                + "and mricron-data; ./medprep test installs them).");
        N4RefTool.executable();
        Image image = NiftiReader.read(Files.readAllBytes(in), ReadLimits.DEFAULT).image();
        compare(image, in, false, tmp);
    }

    /** 2D: one axial slice of each volume, written by our NIfTI writer (depth 1), against ITK's 2D N4. */
    @ParameterizedTest(name = "{0} slice {1}, last {2} columns and rows dropped")
    @CsvSource({"/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii, 12, 0",
            "/usr/share/mricron/templates/ch2.nii.gz, 90, 0",
            "/usr/share/mricron/templates/ch2.nii.gz, 90, 1"})
    void realMrSliceMatchesItk2D(String file, int z, int drop, @TempDir Path tmp) throws Exception {
        Path src = Path.of(file);
        assertTrue(Files.isReadable(src), "the real MR volume " + src + " is missing (Debian packages python3-nibabel "
                + "and mricron-data; ./medprep test installs them).");
        Image volume = NiftiReader.read(Files.readAllBytes(src), ReadLimits.DEFAULT).image();
        int plane = volume.width() * volume.height();
        int w = volume.width() - drop;
        int h = volume.height() - drop;
        Object data = java.lang.reflect.Array.newInstance(volume.data().getClass().getComponentType(), w * h);
        for (int y = 0; y < h; y++) {
            System.arraycopy(volume.data(), z * plane + y * volume.width(), data, y * w, w);
        }
        Image image = new Image(volume.type(), w, h, 1, 1, data, volume.geometry(), volume.metadata());
        Path in = tmp.resolve("slice.nii");
        try (var os = Files.newOutputStream(in)) {
            NiftiWriter.write(image, os, false);
        }
        compare(image, in, true, tmp);
    }

    private static void compare(Image image, Path in, boolean twoD, Path tmp) throws Exception {
        N4BiasField.Parameters p = N4BiasField.Parameters.itkDefaults().withConvergenceThreshold(1e-7);
        long t0 = System.nanoTime();
        N4BiasField.Result ours = N4BiasField.correct(image, p);
        double ourSeconds = (System.nanoTime() - t0) / 1e9;
        Path out = tmp.resolve("itk.nii");
        Path biasOut = tmp.resolve("itk-bias.nii");
        N4RefTool.Run run = twoD ? N4RefTool.run2d(in, out, 4, "50x50x50x50", biasOut)
                : N4RefTool.run(in, out, 4, "50x50x50x50", biasOut);
        Image itkCorrected = NiftiReader.read(Files.readAllBytes(out), ReadLimits.DEFAULT).image();
        Image itkBias = NiftiReader.read(Files.readAllBytes(biasOut), ReadLimits.DEFAULT).image();
        assertArrayEquals(new int[]{image.width(), image.height(), image.depth()},
                new int[]{itkCorrected.width(), itkCorrected.height(), itkCorrected.depth()});
        double[] v = new double[image.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = image.get(i) * image.metadata().rescaleSlope() + image.metadata().rescaleIntercept();
        }
        boolean[] mask = N4BiasField.mask(v, N4BiasField.MaskMode.OTSU);
        int count = 0;
        for (boolean b : mask) {
            count += b ? 1 : 0;
        }
        double[] a = new double[count];
        double[] b = new double[count];
        double[] rel = new double[count];
        for (int i = 0, k = 0; i < v.length; i++) {
            if (!mask[i]) {
                continue;
            }
            a[k] = Math.log(ours.biasField().get(i));
            b[k] = Math.log(itkBias.get(i));
            double itk = itkCorrected.get(i);
            rel[k] = Math.abs(ours.corrected().get(i) - itk) / Math.abs(itk);
            k++;
        }
        double r = pearson(a, b);
        Arrays.sort(rel);
        double median = rel.length % 2 == 1 ? rel[rel.length / 2] : (rel[rel.length / 2 - 1] + rel[rel.length / 2]) / 2;
        System.out.printf(Locale.ROOT, "N4 vs ITK %s%s (%dx%dx%d, %d mask voxels): log-bias r = %.6f, median |rel "
                        + "diff| = %.5f, p95 = %.5f; ours %.2f s (iterations %s), ITK tool %.2f s (%s)%n",
                twoD ? "2D " : "", in.getFileName(), image.width(), image.height(), image.depth(), count, r, median,
                rel[(int) (0.95 * (rel.length - 1))], ourSeconds, Arrays.toString(ours.iterations()), run.seconds(),
                run.stdout());
        assertTrue(r >= 0.99, "log-bias correlation " + r + " < 0.99");
        assertTrue(median <= 0.02, "median relative difference " + median + " > 2 %");
        assertEquals(image.geometry(), ours.corrected().geometry());
    }

    static double pearson(double[] a, double[] b) {
        double ma = 0;
        double mb = 0;
        for (int i = 0; i < a.length; i++) {
            ma += a[i];
            mb += b[i];
        }
        ma /= a.length;
        mb /= b.length;
        double sab = 0;
        double saa = 0;
        double sbb = 0;
        for (int i = 0; i < a.length; i++) {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }
        return sab / Math.sqrt(saa * sbb);
    }
}
