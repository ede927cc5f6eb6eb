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
  bool openmp;
};

BuildInfo buildInfo();

}  // namespace rb
