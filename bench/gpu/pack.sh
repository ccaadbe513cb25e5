#!/usr/bin/env bash
# Assembles the self-contained GPU benchmark folder (default .tmp/gpu-bench/) for a Linux x86-64
# machine that reaches no package registry and may have no node and no libvulkan:
#   run.sh, README.md, MANIFEST.txt, and runtime.tar.gz holding
#     bin/node                   this machine's node (process.execPath), symbols stripped
#     app/bench.mjs, chunk-*.mjs esbuild bundle of bench/gpu/bench.ts with dlvm (dist/) and tfjs
#     app/node_modules/webgpu    the webgpu package's index.js and dist/linux-x64/dawn.node
#     app/node_modules/@tensorflow/tfjs-backend-webgpu   entry into the same bundle (same tfjs-core)
#     app/torch_vae.py           the PyTorch reference
#     lib/libvulkan.so.1         Debian's libvulkan1 (apt-get download + dpkg -x)
#     lib/compat/                libstdc++ and libgcc_s, used only where the system's are too old
# Usage: bench/gpu/pack.sh [--out DIR] [--no-build] [--plain]
#   --no-build  use the existing dist/ (default: npm run build first)
#   --plain     leave runtime/ unpacked instead of runtime.tar.gz (over 64 MiB)
set -euo pipefail

repo="$(cd "${BASH_SOURCE[0]%/*}/../.." && pwd)"
out="$repo/.tmp/gpu-bench"
build=1
plain=0
while (( $# )); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --plain) plain=1; shift ;;
    *) echo "pack.sh: unknown argument '$1' (expected --out DIR, --no-build, --plain)" >&2; exit 2 ;;
  esac
done
say() { printf '[pack] %s\n' "$*" >&2; }
cd "$repo"

if [[ -e "$out" && ! -f "$out/run.sh" && -n "$(ls -A "$out")" ]]; then
  say "$out exists and is not a benchmark folder; refusing to overwrite it"; exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rt="$work/runtime"
mkdir -p "$rt/bin" "$rt/lib/compat" "$rt/app"

# ---- 1. the bundle ----
if (( build )); then say "npm run build"; npm run build > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }; fi
[[ -f dist/index.js ]] || { say "dist/index.js missing: run npm run build"; exit 1; }
say "esbuild bundle"
# Code splitting gives the tfjs-backend-webgpu entry (which dlvm imports by name at run time) and
# the benchmark one shared copy of tfjs-core. `require` is defined for the CommonJS parts of tfjs.
# Modules dlvm reaches only for pictures, progress bars and PCA stay out.
npx esbuild \
  bench=bench/gpu/bench.ts \
  node_modules/@tensorflow/tfjs-backend-webgpu/index=bench/gpu/tfjs_webgpu_entry.ts \
  --bundle --splitting --format=esm --platform=node --target=node20 \
  --outdir="$rt/app" --out-extension:.js=.mjs --main-fields=module,main --tsconfig=tsconfig.run.json \
  --external:@resvg/resvg-js --external:vega --external:vega-lite --external:ml-pca \
  --external:cli-progress --external:pngjs \
  --banner:js="import { createRequire as __dlvmCreateRequire } from 'node:module'; const require = __dlvmCreateRequire(import.meta.url);" \
  --log-level=warning
printf '{ "name": "@tensorflow/tfjs-backend-webgpu", "version": "%s", "type": "module", "main": "index.mjs" }\n' \
  "$(node -p "require('./node_modules/@tensorflow/tfjs-backend-webgpu/package.json').version")" \
  > "$rt/app/node_modules/@tensorflow/tfjs-backend-webgpu/package.json"
cp bench/torch_vae.py "$rt/app/"

# ---- 2. Dawn ----
wg="$rt/app/node_modules/webgpu"
mkdir -p "$wg/dist/linux-x64"
cp node_modules/webgpu/{package.json,index.js,LICENSE.md} "$wg/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$wg/dist/linux-x64/"

# ---- 3. node ----
nodebin="$(node -p process.execPath)"
cp "$nodebin" "$rt/bin/node"
if command -v strip > /dev/null 2>&1; then
  strip "$rt/bin/node" # symbols and debug info; the dynamic symbols addons link against stay
fi
"$rt/bin/node" -e "process.exit(process.version === '$(node -p process.version)' ? 0 : 1)" || { say "the copied node does not run"; exit 1; }

# ---- 4. the Vulkan loader (Debian libvulkan1) and compat C++ libraries ----
cache="$repo/.tmp/gpu-bench-cache"
mkdir -p "$cache"
deb="$(ls "$cache"/libvulkan1_*.deb 2>/dev/null | head -n 1 || true)"
if [[ -z "$deb" ]]; then
  say "apt-get download libvulkan1"
  (cd "$cache" && { apt-get download libvulkan1 > /dev/null 2>&1 || { apt-get update > /dev/null && apt-get download libvulkan1 > /dev/null; }; })
  deb="$(ls "$cache"/libvulkan1_*.deb | head -n 1)"
fi
dpkg -x "$deb" "$work/vk"
cp -L "$work/vk/usr/lib/x86_64-linux-gnu/libvulkan.so.1" "$rt/lib/"
cp "$work/vk/usr/share/doc/libvulkan1/copyright" "$rt/lib/libvulkan1.copyright"
basename "$deb" .deb > "$rt/lib/libvulkan.version"
for lib in libstdc++.so.6 libgcc_s.so.1; do
  p="$(ldconfig -p | grep -F "$lib (libc6,x86-64" | head -n 1)"
  cp -L "${p##*=> }" "$rt/lib/compat/"
done

# ---- 5. the folder ----
rm -rf "$out"
mkdir -p "$out"
cp bench/gpu/run.sh "$out/run.sh"
chmod +x "$out/run.sh"
cp bench/gpu/README.md "$out/README.md"
{
  echo "dlvm GPU benchmark, packed $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?')$( [[ -n "$(git status --porcelain 2>/dev/null)" ]] && echo ' (with uncommitted changes)')"
  echo "node $(node -p process.version) ($nodebin, stripped)"
  for p in webgpu @tensorflow/tfjs-core @tensorflow/tfjs-backend-webgpu @tensorflow/tfjs-layers esbuild; do
    echo "$p $(node -p "require('./node_modules/$p/package.json').version")"
  done
  echo "$(cat "$rt/lib/libvulkan.version") (Debian)"
  echo "compat: $(cd "$rt/lib/compat" && ls | tr '\n' ' ')(from $(. /etc/os-release && echo "$PRETTY_NAME"))"
  echo
  echo "runtime files (bytes):"
  (cd "$rt" && find . -type f -printf '%10s  %P\n' | sort -k2)
} > "$out/MANIFEST.txt"
if (( plain )); then
  mv "$rt" "$out/runtime"
else
  say "gzip -9 runtime"
  tar -C "$work" -cf - runtime | gzip -9 > "$out/runtime.tar.gz"
  sha256sum "$out/runtime.tar.gz" | sed "s#  .*#  runtime.tar.gz#" > "$out/runtime.sha256"
fi
say "$out: $(du -sh "$out" | cut -f1) ($(du -sb "$out" | cut -f1) bytes)"
