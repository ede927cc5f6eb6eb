// Finds, loads and probes the CUDA backend library at run time. The addon never links CUDA: on a
// machine without the library, a driver or a device, everything else works and cudaStatus() says
// exactly which of those is missing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/backend.h"
#include "engine/cuda_abi.h"

namespace rb {

struct CudaStatus {
  bool built = false;      // the library file exists and loads with a matching ABI
  bool available = false;  // ... and a driver and at least one device are there
  // "ok", "not-built", "load-failed", "abi-mismatch", "no-driver", "driver-error", "no-device"
  std::string code;
  std::string reason;      // one sentence; empty when available
  std::string library;     // the path looked at
  int devices = 0;
  std::string deviceName;  // device 0
  uint64_t deviceMemoryBytes = 0;
  std::string computeCapability;
  int driverVersion = 0;
  int runtimeVersion = 0;
  bool cublas = false;
};

// How this engine build was configured: "built", "off" (RB_CUDA=OFF), "no-nvcc" or "no-cudart".
const char* cudaBuildState();
CudaStatus cudaStatus();
// Throws std::runtime_error with the reason when CUDA cannot be used.
std::unique_ptr<Backend> makeCudaBackend(const ModelSpec& spec, const CudaBackendOptions& options);

}  // namespace rb
