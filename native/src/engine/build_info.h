#pragma once

#include <string>
#include <vector>

namespace rb {

struct BuildInfo {
  std::string compiler;
  std::string flags;
  std::string buildType;
  std::vector<std::string> backends;
  bool timers;
  // Chosen at run time for this CPU (see cpu_kernels.h): "avx512", "avx2" or "portable".
  std::string cpuKernels;
};

BuildInfo buildInfo();

}  // namespace rb
