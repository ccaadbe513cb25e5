#!/usr/bin/env bash
# dlvm GPU benchmark, self-contained (assembled by bench/gpu/pack.sh; needs nothing installed but
# bash, tar and gzip): unpacks its runtime (node, the benchmark bundle with dlvm and tfjs, Dawn's
# dawn.node, the Vulkan loader) once, finds the NVIDIA Vulkan driver, and runs the benchmark:
# matmul GFLOP/s and MLP / conv VAE training samples/s on WebGPU, with PyTorch side by side where
# a python with torch is found. Writes gpu-bench.json and gpu-bench.md (default
# ./gpu-bench-results; --out DIR). All arguments go to the benchmark (see README.md):
#   ./run.sh                        # full run, about 5 minutes on a GPU
#   DLVM_DAWN_FLAGS=backend=opengles ./run.sh --small    # no GPU: Mesa's software renderer
set -euo pipefail

here="$(cd "${BASH_SOURCE[0]%/*}" && pwd)"
say() { printf '[run.sh] %s\n' "$*" >&2; }

# ---- the runtime: a plain folder, or runtime.tar.gz unpacked once ----
if [[ -x "$here/runtime/bin/node" ]]; then
  rt="$here/runtime"
else
  [[ -f "$here/runtime.tar.gz" ]] || { say "neither $here/runtime/ nor $here/runtime.tar.gz: rebuild with bench/gpu/pack.sh"; exit 1; }
  read -r stamp _ < "$here/runtime.sha256"
  stamp="${stamp:0:12}"
  # Outside the folder, so the folder stays small enough to copy again (DLVM_BENCH_RUNTIME: elsewhere).
  base="${TMPDIR:-/tmp}"
  [[ -d "$base" && -w "$base" ]] || base="$here"
  rt="${DLVM_BENCH_RUNTIME:-$base/dlvm-gpu-bench-$stamp}"
  if [[ ! -f "$rt/.complete" ]]; then
    say "unpacking the runtime into $rt"
    rm -rf "$rt.partial"
    mkdir -p "$rt.partial"
    gzip -dc "$here/runtime.tar.gz" | tar -x -C "$rt.partial" --strip-components=1
    : > "$rt.partial/.complete"
    rm -rf "$rt"
    mv "$rt.partial" "$rt"
  fi
fi

# ---- C libraries: glibc, libstdc++, the Vulkan loader ----
glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null || true)"   # "glibc 2.36"
glibc="${glibc#glibc }"
if [[ -n "$glibc" ]]; then
  IFS=. read -r gmaj gmin _ <<< "$glibc"
  if (( gmaj < 2 || (gmaj == 2 && gmin < 34) )); then
    say "warning: glibc $glibc here; Dawn's dawn.node needs glibc 2.34 or newer (node itself 2.28)"
  fi
fi

# Where the dynamic linker finds a library by name: ldconfig's cache, else the usual folders.
syslib() {
  local name="$1" p
  if command -v ldconfig > /dev/null 2>&1 || [[ -x /sbin/ldconfig ]]; then
    p="$( { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -F "$name (libc6,x86-64" | head -n 1 || true)"
    p="${p##*=> }"
    [[ -n "$p" && -e "$p" ]] && { printf '%s\n' "$p"; return 0; }
  fi
  for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib64 /lib64 /usr/lib /lib /usr/local/lib; do
    [[ -e "$d/$name" ]] && { printf '%s\n' "$d/$name"; return 0; }
  done
  return 1
}

export DLVM_BENCH_LD_LIBRARY_PATH="${LD_LIBRARY_PATH-}"   # python gets this back (bench.ts)
extra=""
if sysvk="$(syslib libvulkan.so.1)" && [[ "${DLVM_BENCH_BUNDLED_VULKAN:-0}" != 1 ]]; then
  say "Vulkan loader: $sysvk (the system's; DLVM_BENCH_BUNDLED_VULKAN=1 uses the bundled one)"
else
  extra="$rt/lib"
  say "Vulkan loader: bundled ($(cat "$rt/lib/libvulkan.version" 2>/dev/null || echo libvulkan1))"
fi
stdcxx="$(syslib libstdc++.so.6 || true)"
if [[ -z "$stdcxx" ]] || ! grep -q GLIBCXX_3.4.30 "$stdcxx"; then
  extra="${extra:+$extra:}$rt/lib/compat"
  say "libstdc++: ${stdcxx:-none} lacks GLIBCXX_3.4.30 (dawn.node needs it): using the bundled one"
fi
if [[ -n "$extra" ]]; then export LD_LIBRARY_PATH="$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi

# ---- the Vulkan driver: NVIDIA's ICD, unless the caller chose one ----
if [[ -z "${VK_ICD_FILENAMES-}${VK_DRIVER_FILES-}" ]]; then
  icd=""
  for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/share/glvnd /etc/glvnd; do
    [[ -d "$d" ]] || continue
    icd="$(find "$d" -maxdepth 3 -name 'nvidia_icd*.json' 2>/dev/null | head -n 1 || true)"
    [[ -n "$icd" ]] && break
  done
  if [[ -z "$icd" ]] && glx="$(syslib libGLX_nvidia.so.0)"; then
    # The driver's Vulkan library is present but its ICD file is not (containers often mount only
    # the libraries): describe it to the loader ourselves.
    icd="$rt/nvidia_icd.generated.json"
    printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "1.3.0" } }\n' "$glx" > "$icd"
    say "no nvidia_icd.json found; wrote $icd for $glx"
  fi
  if [[ -n "$icd" ]]; then
    export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"
    say "Vulkan driver: $icd"
  else
    say "no NVIDIA Vulkan driver found (nvidia_icd.json, libGLX_nvidia.so.0): the loader picks any other driver;" \
      "without a GPU, DLVM_DAWN_FLAGS=backend=opengles runs on Mesa's software renderer"
  fi
else
  say "Vulkan driver: ${VK_DRIVER_FILES:-$VK_ICD_FILENAMES} (from the environment)"
fi
if command -v nvidia-smi > /dev/null 2>&1; then
  say "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1 || echo '?')"
fi
[[ -n "${DLVM_DAWN_FLAGS-}" ]] && say "Dawn flags: $DLVM_DAWN_FLAGS"

exec "$rt/bin/node" "$rt/app/bench.mjs" "$@"
