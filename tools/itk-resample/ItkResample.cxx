// Licensed under the Apache License, Version 2.0 (see LICENSE).
//
// ItkResample: the ITK 5.2 reference for org.medprep.ops.Resample. It resamples a 3D NIfTI image with ITK's
// ResampleImageFilter (identity transform) onto the grid our Resample computes, so both sample the same
// physical points and the values can be compared voxel by voxel.
//
// usage: ItkResample IN.nii[.gz] OUT.nii[.gz] SX,SY,SZ nearest|linear|bspline [THREADS=0] [REPEAT=1]
//   IN      NIfTI-1, any scalar type; read by ITK as float (ITK applies scl_slope/scl_inter when set, so give it
//           slope 1 / intercept 0 to compare stored values); geometry in LPS mm as ITK reads it.
//   SX,SY,SZ target spacing in mm per axis x, y, z; "keep" keeps that axis (z is kept when the image has depth 1).
//   Grid (per resampled axis a with n voxels of spacing s, target t), as org.medprep.ops.Resample.plan:
//     n' = max(1, floor(n*s/t + 0.5)), spacing t, origin' = origin + direction[:, a] * (t - s)/2,
//     direction unchanged; a kept axis keeps n, s and adds nothing to the origin.
//   Kernels: itk::NearestNeighborInterpolateImageFunction, itk::LinearInterpolateImageFunction,
//     itk::BSplineInterpolateImageFunction of order 3 (its coefficients come from BSplineDecompositionImageFilter,
//     mirror boundary). Points outside the input buffer (continuous index outside [-0.5, n-0.5)) get 0.
//   THREADS > 0: itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(THREADS) before anything runs;
//     0 leaves ITK's default (all cores, or ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS).
//   REPEAT: the resampling runs REPEAT times, each with a new filter and interpolator (so the B-spline
//     coefficients are recomputed every time); the last result is written.
// OUT is written as float32 NIfTI with ITK's geometry. Prints one JSON line: size, spacing, origin (x, y, z),
// threads, the filter's multithreader class and number of work units, "seconds": the wall time of each
// resampling alone (filter Update(), B-spline coefficients included; reading and writing excluded), and
// "cpu_seconds": the process CPU time (all threads) of each.
#include "itkBSplineInterpolateImageFunction.h"
#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkLinearInterpolateImageFunction.h"
#include "itkMultiThreaderBase.h"
#include "itkNearestNeighborInterpolateImageFunction.h"
#include "itkResampleImageFilter.h"
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using Img = itk::Image<float, 3>;

static itk::InterpolateImageFunction<Img, double>::Pointer interpolator(const std::string & kernel) {
  if (kernel == "nearest") return itk::NearestNeighborInterpolateImageFunction<Img, double>::New().GetPointer();
  if (kernel == "linear") return itk::LinearInterpolateImageFunction<Img, double>::New().GetPointer();
  if (kernel == "bspline") {
    auto b = itk::BSplineInterpolateImageFunction<Img, double, double>::New();
    b->SetSplineOrder(3);
    return b.GetPointer();
  }
  throw std::invalid_argument("kernel must be nearest, linear or bspline, not " + kernel);
}

int main(int argc, char ** argv) {
  if (argc < 5) {
    std::cerr << "usage: ItkResample IN.nii OUT.nii SX,SY,SZ nearest|linear|bspline [THREADS=0] [REPEAT=1]\n";
    return 2;
  }
  try {
    const std::string kernel = argv[4];
    const int threads = argc > 5 ? std::stoi(argv[5]) : 0;
    const int repeat = argc > 6 ? std::stoi(argv[6]) : 1;
    if (threads > 0) {
      itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(threads);
      itk::MultiThreaderBase::SetGlobalMaximumNumberOfThreads(threads);
    }
    std::vector<std::string> target;
    {
      std::stringstream ss(argv[3]);
      std::string t;
      while (std::getline(ss, t, ',')) target.push_back(t);
    }
    if (target.size() != 3) throw std::invalid_argument("target spacing needs 3 values x,y,z");

    auto reader = itk::ImageFileReader<Img>::New();
    reader->SetFileName(argv[1]);
    reader->Update();
    Img::Pointer in = reader->GetOutput();
    in->DisconnectPipeline();

    const Img::SizeType n = in->GetLargestPossibleRegion().GetSize();
    const Img::SpacingType s = in->GetSpacing();
    const Img::DirectionType d = in->GetDirection();
    Img::SizeType n2 = n;
    Img::SpacingType s2 = s;
    Img::PointType o2 = in->GetOrigin();
    for (unsigned a = 0; a < 3; ++a) {
      if (target[a] == "keep" || (a == 2 && n[2] == 1)) continue;
      const double t = std::stod(target[a]);
      if (!(t > 0) || !std::isfinite(t)) throw std::invalid_argument("target spacing must be finite and > 0");
      n2[a] = static_cast<Img::SizeValueType>(std::max(1.0, std::floor(n[a] * s[a] / t + 0.5)));
      s2[a] = t;
      for (unsigned r = 0; r < 3; ++r) o2[r] += d[r][a] * (t - s[a]) / 2;
    }

    Img::Pointer out;
    std::string threader;
    unsigned workUnits = 0;
    std::vector<double> seconds, cpu;
    for (int k = 0; k < repeat; ++k) {
      const std::clock_t c0 = std::clock();
      auto t0 = std::chrono::steady_clock::now();
      auto f = itk::ResampleImageFilter<Img, Img, double, double>::New();
      f->SetInput(in);
      f->SetInterpolator(interpolator(kernel));
      f->SetSize(n2);
      f->SetOutputSpacing(s2);
      f->SetOutputOrigin(o2);
      f->SetOutputDirection(d);
      f->SetDefaultPixelValue(0);
      threader = f->GetMultiThreader()->GetNameOfClass();
      workUnits = f->GetNumberOfWorkUnits();
      f->Update();
      auto t1 = std::chrono::steady_clock::now();
      seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
      cpu.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
      out = f->GetOutput();
      out->DisconnectPipeline();
    }

    auto writer = itk::ImageFileWriter<Img>::New();
    writer->SetFileName(argv[2]);
    writer->SetInput(out);
    writer->Update();

    std::printf("{\"size\": [%lu, %lu, %lu], \"spacing\": [%.17g, %.17g, %.17g], "
                "\"origin\": [%.17g, %.17g, %.17g], \"kernel\": \"%s\", \"threads\": %u, \"multithreader\": \"%s\", "
                "\"work_units\": %u, \"seconds\": [",
                (unsigned long) n2[0], (unsigned long) n2[1], (unsigned long) n2[2], s2[0], s2[1], s2[2],
                o2[0], o2[1], o2[2], kernel.c_str(), itk::MultiThreaderBase::GetGlobalDefaultNumberOfThreads(),
                threader.c_str(), workUnits);
    for (size_t k = 0; k < seconds.size(); ++k) std::printf(k ? ", %.6f" : "%.6f", seconds[k]);
    std::printf("], \"cpu_seconds\": [");
    for (size_t k = 0; k < cpu.size(); ++k) std::printf(k ? ", %.3f" : "%.3f", cpu[k]);
    std::printf("]}\n");
    return 0;
  } catch (const std::exception & e) {
    std::cerr << "ItkResample: " << e.what() << "\n";
    return 1;
  }
}
