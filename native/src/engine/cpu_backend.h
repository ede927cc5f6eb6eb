#pragma once

#include <memory>
#include <vector>

#include "engine/backend.h"
#include "engine/rope.h"

namespace rb {

std::unique_ptr<Backend> makeCpuBackend(const ModelSpec& spec);

}  // namespace rb
