#pragma once

#include <memory>
#include <vector>

#include "engine/backend.h"
#include "engine/fault.h"
#include "engine/rope.h"

namespace rb {

// `unitsOutliveHost`: weights made by createUnit must not point into the host buffer, because the
// caller reuses it before releasing them (pipelined callers). Otherwise units read their
// matrices in place from the host buffer (caps().borrowsHostBytes), which the caller keeps as
// long as the weights.
std::unique_ptr<Backend> makeCpuBackend(const ModelSpec& spec, Fault fault, bool unitsOutliveHost);

}  // namespace rb
