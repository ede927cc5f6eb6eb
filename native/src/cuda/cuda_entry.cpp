// The exported C entry points of librb_cuda.so (see engine/cuda_abi.h). Nothing else is visible.
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cuda/cuda_backend.h"
#include "engine/cuda_abi.h"

#define RB_EXPORT extern "C" __attribute__((visibility("default")))

#ifndef RB_HAVE_CUBLAS
#define RB_HAVE_CUBLAS 0
#endif

namespace {

void setText(char* dst, size_t len, const std::string& text) {
  if (len == 0) return;
  std::snprintf(dst, len, "%s", text.c_str());
}

std::string cudaVersion(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

std::string errorText(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

}  // namespace

RB_EXPORT int rb_cuda_abi(const RbCudaLayout* layout) {
  const RbCudaLayout mine = rbCudaLayout();
  return layout && std::memcmp(layout, &mine, sizeof(mine)) == 0 ? 1 : 0;
}

RB_EXPORT void rb_cuda_probe(RbCudaProbe* out) {
  std::memset(out, 0, sizeof(*out));
  out->cublas = RB_HAVE_CUBLAS;
  cudaRuntimeGetVersion(&out->runtimeVersion);
  auto fail = [&](const char* code, const std::string& reason) {
    setText(out->code, sizeof(out->code), code);
    setText(out->reason, sizeof(out->reason), reason);
  };
  // The runtime loads the driver library itself; asking first gives the precise reason.
  dlerror();
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver) {
    const char* e = dlerror();
    fail("no-driver", std::string("no NVIDIA driver: libcuda.so.1 cannot be loaded (") + (e ? e : "not found") + ")");
    return;
  }
  int driverVersion = 0;
  cudaDriverGetVersion(&driverVersion);
  out->driverVersion = driverVersion;
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    if (e == cudaErrorNoDevice) {
      fail("no-device", "no CUDA device: the NVIDIA driver is loaded but sees no GPU (" + errorText(e) + ")");
    } else if (e == cudaErrorInsufficientDriver) {
      fail("driver-error", "the NVIDIA driver supports CUDA " + cudaVersion(driverVersion) +
                               ", older than this build's CUDA runtime " + cudaVersion(out->runtimeVersion) +
                               ": update the driver (" + errorText(e) + ")");
    } else {
      fail("driver-error", "the NVIDIA driver is present but cudaGetDeviceCount failed (" + errorText(e) + ")");
    }
    return;
  }
  out->devices = count;
  if (count == 0) {
    fail("no-device", "no CUDA device: the NVIDIA driver sees 0 GPUs");
    return;
  }
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, 0) == cudaSuccess) {
    setText(out->name, sizeof(out->name), props.name);
    out->totalMemBytes = props.totalGlobalMem;
    out->ccMajor = props.major;
    out->ccMinor = props.minor;
  }
  fail("ok", "");
}

RB_EXPORT rb::Backend* rb_cuda_create_backend(const rb::ModelSpec* spec, const rb::CudaBackendOptions* options,
                                              char* error, size_t errorLen) {
  try {
    return rb::createCudaBackend(*spec, *options).release();
  } catch (const std::exception& e) {
    setText(error, errorLen, e.what());
  } catch (...) {
    setText(error, errorLen, "the CUDA backend could not be created (unknown error)");
  }
  return nullptr;
}
