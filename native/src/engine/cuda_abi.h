// The C boundary between the engine (in the Node addon, which never links CUDA) and the CUDA
// backend library (librb_cuda.so), which the engine dlopen()s only when CUDA is asked for.
// Both sides are built from these headers in one build; the layout check refuses a library
// from another build whose structs might differ.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/backend.h"
#include "engine/fault.h"
#include "engine/model.h"

namespace rb {

struct CudaBackendOptions {
  bool pinMemory = true;
  bool asyncTransfer = true;
  Fault fault = Fault::None;
};

}  // namespace rb

#define RB_CUDA_ABI_VERSION 2u
#define RB_CUDA_LIBRARY_NAME "librb_cuda.so"

extern "C" {

struct RbCudaLayout {
  uint32_t abi;
  uint32_t sizeofSpec;
  uint32_t sizeofHostUnit;
  uint32_t sizeofOptions;
  uint32_t sizeofDeviceStats;
  uint32_t sizeofCaps;
};

// What the library finds about the machine. `code`: "ok", "no-driver", "driver-error", "no-device".
struct RbCudaProbe {
  char code[32];
  char reason[1024];
  int devices;
  char name[256];
  uint64_t totalMemBytes;
  int ccMajor;
  int ccMinor;
  int driverVersion;   // CUDA version the driver supports, e.g. 13000; 0 without a driver
  int runtimeVersion;  // CUDA runtime linked into the library
  int cublas;          // 1 when the library was built with cuBLAS
};

// Returns 1 when the library was built with the same ABI and struct layout as the caller.
typedef int (*RbCudaAbiFn)(const RbCudaLayout* layout);
typedef void (*RbCudaProbeFn)(RbCudaProbe* out);
// Returns a new backend, or null with a message in `error`.
typedef rb::Backend* (*RbCudaCreateFn)(const rb::ModelSpec* spec, const rb::CudaBackendOptions* options,
                                       char* error, size_t errorLen);
}

inline RbCudaLayout rbCudaLayout() {
  return RbCudaLayout{RB_CUDA_ABI_VERSION,
                      static_cast<uint32_t>(sizeof(rb::ModelSpec)),
                      static_cast<uint32_t>(sizeof(rb::HostUnit)),
                      static_cast<uint32_t>(sizeof(rb::CudaBackendOptions)),
                      static_cast<uint32_t>(sizeof(rb::DeviceStats)),
                      static_cast<uint32_t>(sizeof(rb::BackendCaps))};
}
