#include "engine/cuda_loader.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>

#ifndef RB_CUDA_BUILD_STATE
#define RB_CUDA_BUILD_STATE "off"
#endif

namespace rb {
namespace {

bool fileExists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Next to the module this code is linked into (build/Release/rabbit_native.node), unless
// RABBIT_BENCH_CUDA_LIB names another file.
std::string libraryPath() {
  if (const char* env = std::getenv("RABBIT_BENCH_CUDA_LIB"); env && *env) return env;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&libraryPath), &info) && info.dli_fname) {
    std::string self = info.dli_fname;
    const size_t slash = self.rfind('/');
    if (slash != std::string::npos) return self.substr(0, slash + 1) + RB_CUDA_LIBRARY_NAME;
  }
  return RB_CUDA_LIBRARY_NAME;
}

struct Library {
  void* handle = nullptr;
  std::string error;  // why it could not be used
  std::string code;   // "load-failed" or "abi-mismatch" when handle is unusable
  RbCudaProbeFn probe = nullptr;
  RbCudaCreateFn create = nullptr;
};

// Loaded once per path and never unloaded: the CUDA runtime inside does not survive dlclose.
const Library& load(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, Library> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = loaded.find(path);
  if (it != loaded.end()) return it->second;
  Library lib;
  dlerror();
  lib.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib.handle) {
    const char* e = dlerror();
    lib.code = "load-failed";
    lib.error = "the CUDA backend library " + path + " cannot be loaded: " + (e ? e : "unknown dlopen error");
    return loaded.emplace(path, lib).first->second;
  }
  auto abi = reinterpret_cast<RbCudaAbiFn>(dlsym(lib.handle, "rb_cuda_abi"));
  lib.probe = reinterpret_cast<RbCudaProbeFn>(dlsym(lib.handle, "rb_cuda_probe"));
  lib.create = reinterpret_cast<RbCudaCreateFn>(dlsym(lib.handle, "rb_cuda_create_backend"));
  const RbCudaLayout layout = rbCudaLayout();
  if (!abi || !lib.probe || !lib.create) {
    lib.code = "load-failed";
    lib.error = "the CUDA backend library " + path + " does not export the rb_cuda_* entry points";
  } else if (!abi(&layout)) {
    lib.code = "abi-mismatch";
    lib.error = "the CUDA backend library " + path + " comes from another build of the engine (ABI mismatch): rebuild with `npm run build`";
  }
  return loaded.emplace(path, lib).first->second;
}

std::string notBuiltReason(const std::string& path) {
  const std::string state = RB_CUDA_BUILD_STATE;
  if (state == "off") return "the CUDA backend was not built (RB_CUDA=OFF when the engine was built; " + path + " is absent)";
  if (state == "no-nvcc") {
    return "the CUDA backend was not built (no CUDA compiler, nvcc, was found when the engine was built; " + path +
           " is absent): install the CUDA toolkit and run `npm run build`";
  }
  if (state == "no-cudart") {
    return "the CUDA backend was not built (the CUDA toolkit found at build time has no static runtime, "
           "libcudart_static.a; " + path + " is absent)";
  }
  return "the CUDA backend library " + path + " is missing (it was configured to be built: run `npm run build`)";
}

}  // namespace

const char* cudaBuildState() { return RB_CUDA_BUILD_STATE; }

CudaStatus cudaStatus() {
  CudaStatus s;
  s.library = libraryPath();
  if (!fileExists(s.library)) {
    s.code = "not-built";
    s.reason = notBuiltReason(s.library);
    return s;
  }
  const Library& lib = load(s.library);
  if (!lib.code.empty()) {
    s.code = lib.code;
    s.reason = lib.error;
    return s;
  }
  s.built = true;
  RbCudaProbe p{};
  lib.probe(&p);
  p.code[sizeof(p.code) - 1] = '\0';
  p.reason[sizeof(p.reason) - 1] = '\0';
  p.name[sizeof(p.name) - 1] = '\0';
  s.code = p.code;
  s.reason = p.reason;
  s.devices = p.devices;
  s.deviceName = p.name;
  s.deviceMemoryBytes = p.totalMemBytes;
  if (p.ccMajor > 0) s.computeCapability = std::to_string(p.ccMajor) + "." + std::to_string(p.ccMinor);
  s.driverVersion = p.driverVersion;
  s.runtimeVersion = p.runtimeVersion;
  s.cublas = p.cublas != 0;
  s.available = s.code == "ok";
  return s;
}

std::unique_ptr<Backend> makeCudaBackend(const ModelSpec& spec, const CudaBackendOptions& options) {
  const CudaStatus status = cudaStatus();
  if (!status.available) throw std::runtime_error("no CUDA backend available: " + status.reason);
  const Library& lib = load(status.library);
  char error[1024] = {0};
  Backend* backend = lib.create(&spec, &options, error, sizeof(error));
  error[sizeof(error) - 1] = '\0';
  if (!backend) throw std::runtime_error(error[0] ? error : "the CUDA backend could not be created");
  return std::unique_ptr<Backend>(backend);
}

}  // namespace rb
