/**
 * initBackend('webgpu') in Node: Dawn from the optional `webgpu` package, the adapter reported in
 * BackendInfo, the options and their environment variables, 'auto' skipping a software adapter,
 * and the message when Dawn finds no adapter.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { describeBackend, initBackend } from '../src/index.js';
import { vulkanLoaderPresent } from '../src/backend/webgpu_node.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe("initBackend('webgpu') in Node", () => {
  it('runs on the adapter Dawn offers and reports it (here: Mesa llvmpipe through OpenGL ES)', async () => {
    const info = await initBackend('webgpu', { dawnFlags: ['backend=opengles'] });
    expect(info).toMatchObject({ name: 'webgpu', package: '@tensorflow/tfjs-backend-webgpu', requested: 'webgpu', source: 'argument' });
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.adapter).toMatchObject({ featureLevel: 'compatibility', dawnFlags: ['backend=opengles'], software: true });
    expect(`${info.adapter!.device} ${info.adapter!.description}`).toMatch(/llvmpipe|OpenGL ES/);
    expect(info.dlvmKernels).toEqual(expect.arrayContaining(['Transpose@webgpu', 'Log1p@webgpu']));
    expect(describeBackend(info)).toMatch(/^webgpu \(adapter: .* \(software; compatibility\); dlvm kernels: \d+\) via @tensorflow\/tfjs-backend-webgpu/);
    // It computes: a transposed product read back asynchronously.
    const a = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const p = tf.matMul(a, a, true, false);
    expect(Array.from(await p.data())).toEqual([10, 14, 14, 20]);
    tf.dispose([a, p]);
  });

  it('keeps the adapter it started on for the process, and says so when other options ask for another', async () => {
    const first = await initBackend('webgpu', { dawnFlags: ['backend=opengles'] });
    const again = await initBackend('webgpu', { dawnFlags: ['backend=opengles', 'enable-dawn-features=allow_unsafe_apis'] });
    expect(again.adapter).toEqual(first.adapter);
    expect(again.notes.join('; ')).toMatch(
      /webgpu already runs on .*flags \[backend=opengles\], in this process \(the adapter is fixed once webgpu starts\); these options asked for .*flags \[backend=opengles, enable-dawn-features=allow_unsafe_apis\]/,
    );
    const same = await initBackend('webgpu', { dawnFlags: ['backend=opengles'] });
    expect(same.notes.join('; ')).not.toMatch(/already runs/);
  });

  it('reads DLVM_DAWN_FLAGS and DLVM_WEBGPU_FEATURE_LEVEL, and names them when they are wrong', async () => {
    process.env['DLVM_DAWN_FLAGS'] = ' backend=opengles ';
    process.env['DLVM_WEBGPU_FEATURE_LEVEL'] = 'compatibility';
    process.env['DLVM_BACKEND'] = 'webgpu';
    const info = await initBackend();
    expect(info).toMatchObject({ name: 'webgpu', source: 'DLVM_BACKEND' });
    expect(info.adapter).toMatchObject({ featureLevel: 'compatibility', dawnFlags: ['backend=opengles'] });
    process.env['DLVM_WEBGPU_FEATURE_LEVEL'] = 'fast';
    await expect(initBackend('webgpu')).rejects.toThrow(/initBackend: argument 'DLVM_WEBGPU_FEATURE_LEVEL' must be 'core' or 'compatibility', but got "fast"/);
    await expect(initBackend('webgpu', { featureLevel: 'x' as never })).rejects.toThrow(
      /initBackend: argument 'options\.featureLevel' must be 'core' or 'compatibility', but got "x"/,
    );
    await expect(initBackend('webgpu', { dawnFlags: 'backend=opengles' as never })).rejects.toThrow(
      /initBackend: argument 'options\.dawnFlags' must be an array of Dawn toggles/,
    );
  });

  it("'auto' skips a software adapter (slower than wasm) and says so", async () => {
    process.env['DLVM_DAWN_FLAGS'] = 'backend=opengles';
    const info = await initBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.notes.join('; ')).toMatch(/webgpu skipped: .* is a software adapter, slower than wasm \(name 'webgpu' to use it\)/);
  });

  it('without an adapter the error says why and how to get one', async () => {
    const attempt = initBackend('webgpu', { dawnFlags: ['backend=vulkan'] });
    if (!(await vulkanLoaderPresent())) {
      // This machine has no Vulkan loader, so Dawn's Vulkan backend finds nothing.
      await expect(attempt).rejects.toThrow(
        /initBackend: backend 'webgpu' is not available \(Dawn found no WebGPU adapter \(flags \[backend=vulkan\], feature level core\)\)\. On Linux Dawn needs the Vulkan loader and a Vulkan driver: install libvulkan1 .*VK_ICD_FILENAMES.*DLVM_DAWN_FLAGS=backend=opengles/,
      );
    } else {
      // With a loader, a Vulkan driver may be there: then it must be reported as an adapter.
      const info = await attempt.catch((e: Error) => e);
      if (info instanceof Error) expect(info.message).toMatch(/Dawn found no WebGPU adapter/);
      else expect(info.adapter).toBeDefined();
    }
  });
});
