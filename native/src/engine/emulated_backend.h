// Test-only: the CPU backend behind every code path a device backend (CUDA) takes in the engine:
// pipelined steps (forwardLayer only enqueues; finishForward/awaitUnit), raw embedding rows,
// argmax in the backend, host buffers from a backend allocator, device memory stats. Tokens must
// equal the plain CPU backend's, so these paths are tested on machines without a GPU.
#pragma once

#include <memory>

#include "engine/backend.h"
#include "engine/fault.h"

namespace rb {

std::unique_ptr<Backend> makeEmulatedDeviceBackend(const ModelSpec& spec, Fault fault);

}  // namespace rb
