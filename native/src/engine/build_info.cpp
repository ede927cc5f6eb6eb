#include "engine/build_info.h"

#include "engine/cpu_kernels.h"

namespace rb {

BuildInfo buildInfo() {
  BuildInfo info;
#if defined(__clang__)
  info.compiler = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  info.compiler = std::string("gcc ") + __VERSION__;
#else
  info.compiler = "unknown";
#endif
  info.flags = RB_CXX_FLAGS;
  info.buildType = RB_BUILD_TYPE;
  info.backends = {"cpu"};
  info.timers = RB_TIMERS;
  info.cpuKernels = cpu::kernelIsa();
  return info;
}

}  // namespace rb
