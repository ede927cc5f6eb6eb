// The CUDA backend (built into librb_cuda.so only; the addon reaches it through cuda_abi.h).
#pragma once

#include <memory>

#include "engine/backend.h"
#include "engine/cuda_abi.h"

namespace rb {

std::unique_ptr<Backend> createCudaBackend(const ModelSpec& spec, const CudaBackendOptions& options);

}  // namespace rb
