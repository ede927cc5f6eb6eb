#pragma once

#include <memory>
#include <vector>

#include "engine/backend.h"
#include "engine/fault.h"
#include "engine/rope.h"

namespace rb {

std::unique_ptr<Backend> makeCpuBackend(const ModelSpec& spec, Fault fault);

}  // namespace rb
