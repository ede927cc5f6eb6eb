// Whether the CUDA backend can run here, and the one sentence that says why not.
import { loadAddon, type NativeAddon, type NativeCudaStatus } from '../engine/native.js';
import { UserError } from '../errors.js';

/** The addon's answer; an engine build older than the CUDA backend counts as "not built". */
export function cudaStatus(addon: NativeAddon = loadAddon()): NativeCudaStatus {
  if (typeof addon.cudaStatus === 'function') return addon.cudaStatus();
  return {
    built: false,
    available: false,
    code: 'not-built',
    reason: 'this engine build predates the CUDA backend: rebuild it with `npm run build`',
    library: '',
    buildState: 'off',
    devices: 0,
    deviceName: '',
    deviceMemoryBytes: 0,
    computeCapability: '',
    driverVersion: 0,
    runtimeVersion: 0,
    cublas: false,
  };
}

/** The short category of a status: what is missing. */
export function cudaMissing(s: NativeCudaStatus): string {
  switch (s.code) {
    case 'ok':
      return 'nothing';
    case 'not-built':
    case 'load-failed':
    case 'abi-mismatch':
      return 'backend not built or not loadable';
    case 'no-driver':
      return 'no driver';
    case 'driver-error':
      return 'driver error';
    case 'no-device':
      return 'no device';
  }
}

/** `flag: no CUDA backend available: <reason>` */
export function cudaUnavailableMessage(s: NativeCudaStatus, flag = '--device cuda'): string {
  return `${flag}: no CUDA backend available: ${s.reason}`;
}

/** Throws a UserError (exit 2) naming exactly what is missing, unless CUDA can run. */
export function requireCuda(flag = '--device cuda', addon?: NativeAddon): NativeCudaStatus {
  const s = cudaStatus(addon);
  if (!s.available) throw new UserError(cudaUnavailableMessage(s, flag), 2);
  return s;
}

/** "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB, CUDA 13.0 driver, GEMM: own kernels)" */
export function cudaDeviceLine(s: NativeCudaStatus): string {
  const cc = s.computeCapability ? `sm_${s.computeCapability.replace('.', '')}, ` : '';
  const mem = s.deviceMemoryBytes ? `${(s.deviceMemoryBytes / 2 ** 30).toFixed(1)} GiB, ` : '';
  const driver = s.driverVersion ? `CUDA ${Math.floor(s.driverVersion / 1000)}.${Math.floor((s.driverVersion % 1000) / 10)} driver, ` : '';
  return `${s.deviceName || 'CUDA device'} (${cc}${mem}${driver}GEMM: ${s.cublas ? 'cuBLAS' : 'own kernels'})`;
}
