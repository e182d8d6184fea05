// Reference N4 bias-field correction using ITK 5.2 (Debian libinsighttoolkit5-dev), 2D images: N4Ref.cxx with
// image dimension 2 (a NIfTI of depth 1 is read as a 2D image). Licensed under the Apache License, Version 2.0.
// usage: N4Ref2D in.nii[.gz] out.nii[.gz] [shrink=4] [iters=50x50x50x50] [biasOut.nii.gz]
#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkN4BiasFieldCorrectionImageFilter.h"
#include "itkShrinkImageFilter.h"
#include "itkOtsuThresholdImageFilter.h"
#include "itkBSplineControlPointImageFilter.h"
#include "itkExpImageFilter.h"
#include "itkDivideImageFilter.h"
#include "itkVectorIndexSelectionCastImageFilter.h"
#include <sstream>
using Img = itk::Image<float, 2>; using Mask = itk::Image<unsigned char, 2>;
int main(int argc, char** argv) {
  if (argc < 3) { std::cerr << "usage: N4Ref2D in out [shrink] [iters e.g. 50x50x50x50] [bias_out]\n"; return 1; }
  unsigned shrink = argc > 3 ? std::stoi(argv[3]) : 4;
  std::vector<unsigned> its; { std::stringstream ss(argc > 4 ? argv[4] : "50x50x50x50"); std::string t; while (std::getline(ss, t, 'x')) its.push_back(std::stoi(t)); }
  auto rd = itk::ImageFileReader<Img>::New(); rd->SetFileName(argv[1]); rd->Update();
  Img::Pointer in = rd->GetOutput();
  auto otsu = itk::OtsuThresholdImageFilter<Img, Mask>::New(); otsu->SetInput(in); otsu->SetInsideValue(0); otsu->SetOutsideValue(1); otsu->Update();
  auto shI = itk::ShrinkImageFilter<Img, Img>::New(); shI->SetInput(in); shI->SetShrinkFactors(shrink);
  auto shM = itk::ShrinkImageFilter<Mask, Mask>::New(); shM->SetInput(otsu->GetOutput()); shM->SetShrinkFactors(shrink);
  using N4 = itk::N4BiasFieldCorrectionImageFilter<Img, Mask, Img>;
  auto n4 = N4::New(); n4->SetInput(shI->GetOutput()); n4->SetMaskImage(shM->GetOutput());
  N4::VariableSizeArrayType mi(its.size()); for (unsigned i = 0; i < its.size(); ++i) mi[i] = its[i];
  n4->SetMaximumNumberOfIterations(mi); n4->SetNumberOfFittingLevels(its.size()); n4->SetConvergenceThreshold(1e-7);
  n4->Update();
  // reconstruct full-resolution log bias field from the B-spline lattice, then divide
  using BS = itk::BSplineControlPointImageFilter<N4::BiasFieldControlPointLatticeType, itk::Image<itk::Vector<float,1>,2>>;
  auto bs = BS::New(); bs->SetInput(n4->GetLogBiasFieldControlPointLattice()); bs->SetSplineOrder(n4->GetSplineOrder());
  bs->SetSize(in->GetLargestPossibleRegion().GetSize()); bs->SetOrigin(in->GetOrigin()); bs->SetSpacing(in->GetSpacing()); bs->SetDirection(in->GetDirection()); bs->Update();
  auto sel = itk::VectorIndexSelectionCastImageFilter<BS::OutputImageType, Img>::New(); sel->SetInput(bs->GetOutput()); sel->SetIndex(0);
  auto ex = itk::ExpImageFilter<Img, Img>::New(); ex->SetInput(sel->GetOutput());
  auto dv = itk::DivideImageFilter<Img, Img, Img>::New(); dv->SetInput1(in); dv->SetInput2(ex->GetOutput()); dv->Update();
  auto wr = itk::ImageFileWriter<Img>::New(); wr->SetFileName(argv[2]); wr->SetInput(dv->GetOutput()); wr->Update();
  if (argc > 5) { auto wb = itk::ImageFileWriter<Img>::New(); wb->SetFileName(argv[5]); wb->SetInput(ex->GetOutput()); wb->Update(); }
  std::cout << "N4 done: iterations at last level=" << n4->GetElapsedIterations() << " convergence=" << n4->GetCurrentConvergenceMeasurement() << std::endl;
  return 0;
}
