/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.image;

import java.util.Arrays;

/**
 * Where the voxel grid lies in patient space, in the DICOM patient coordinate system (LPS: +x towards the
 * patient's Left, +y towards Posterior, +z towards Superior), all lengths in millimetres.
 *
 * <p>The world position (mm, LPS) of voxel index (i, j, k) is
 * {@code origin + i·spacing[0]·xAxis + j·spacing[1]·yAxis + k·spacing[2]·zAxis}, where {@code xAxis},
 * {@code yAxis}, {@code zAxis} are the unit vectors in {@link #direction()}. This is ITK's convention and DICOM's:
 * for a DICOM series the x axis is the ImageOrientationPatient row cosine (direction of increasing column index),
 * the y axis the column cosine, the z axis the slice normal in the direction of increasing slice index, and the
 * origin is the ImagePositionPatient of the first slice.
 *
 * @param spacing   voxel spacing in mm along x, y, z (3 values, each finite and &gt; 0 for a valid image)
 * @param origin    position of voxel (0, 0, 0) centre in mm, LPS (3 values)
 * @param direction the three axis unit vectors, x axis first, as 9 values
 *                  {@code {xL, xP, xS, yL, yP, yS, zL, zP, zS}}
 */
public record Geometry(double[] spacing, double[] origin, double[] direction) {

    /** Spacing 1 mm, origin 0, identity direction: the geometry of a plain 2D picture (PNG/JPEG/TIFF). */
    public static final Geometry UNIT = new Geometry(new double[]{1, 1, 1}, new double[3],
            new double[]{1, 0, 0, 0, 1, 0, 0, 0, 1});

    public Geometry {
        if (spacing.length != 3 || origin.length != 3 || direction.length != 9) {
            throw new IllegalArgumentException("geometry needs 3 spacing, 3 origin and 9 direction values");
        }
        spacing = spacing.clone();
        origin = origin.clone();
        direction = direction.clone();
    }

    @Override
    public double[] spacing() {
        return spacing.clone();
    }

    @Override
    public double[] origin() {
        return origin.clone();
    }

    @Override
    public double[] direction() {
        return direction.clone();
    }

    /** Unit vector (LPS) of axis 0 = x, 1 = y, 2 = z. */
    public double[] axis(int a) {
        return Arrays.copyOfRange(direction, 3 * a, 3 * a + 3);
    }

    /** True when every spacing value is finite and strictly positive. */
    public boolean spacingValid() {
        for (double s : spacing) {
            if (!(s > 0) || !Double.isFinite(s)) {
                return false;
            }
        }
        return true;
    }

    /** The same geometry with new spacing (mm). */
    public Geometry withSpacing(double[] newSpacing) {
        return new Geometry(newSpacing, origin, direction);
    }

    /** The same geometry with a new origin (mm, LPS). */
    public Geometry withOrigin(double[] newOrigin) {
        return new Geometry(spacing, newOrigin, direction);
    }

    /**
     * The 4×4 voxel-to-world affine in LPS mm, row-major: column c of the upper 3×3 block is axis c times
     * spacing[c], the last column is the origin.
     */
    public double[][] affineLps() {
        double[][] m = new double[4][4];
        for (int c = 0; c < 3; c++) {
            for (int r = 0; r < 3; r++) {
                m[r][c] = direction[3 * c + r] * spacing[c];
            }
        }
        for (int r = 0; r < 3; r++) {
            m[r][3] = origin[r];
        }
        m[3][3] = 1;
        return m;
    }

    /** Same values as {@link #equals} compares, to a tolerance (mm for spacing/origin, plain for cosines). */
    public boolean approximatelyEquals(Geometry o, double tol) {
        for (int i = 0; i < 3; i++) {
            if (Math.abs(spacing[i] - o.spacing[i]) > tol || Math.abs(origin[i] - o.origin[i]) > tol) {
                return false;
            }
        }
        for (int i = 0; i < 9; i++) {
            if (Math.abs(direction[i] - o.direction[i]) > tol) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Geometry g && Arrays.equals(spacing, g.spacing) && Arrays.equals(origin, g.origin)
                && Arrays.equals(direction, g.direction);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(spacing) + Arrays.hashCode(origin)) + Arrays.hashCode(direction);
    }

    @Override
    public String toString() {
        return "Geometry[spacing=" + Arrays.toString(spacing) + ", origin=" + Arrays.toString(origin)
                + ", direction=" + Arrays.toString(direction) + "]";
    }
}
