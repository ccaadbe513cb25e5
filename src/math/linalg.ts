/**
 * Small dense linear algebra that tfjs-core lacks (Cholesky factor, triangular solves), written
 * with differentiable tfjs ops and batched over leading dimensions. They loop over the matrix
 * dimension D in JavaScript (O(D) ops), which suits the latent sizes of VAEs (D up to a few
 * hundred), not large matrices.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo, transpose } from './ops.js';

/**
 * Lower Cholesky factor L of symmetric positive-definite `a` ([..., D, D]), with a = L L^T.
 * Column by column (Cholesky-Crout). A matrix that is not positive definite gives NaN on the
 * diagonal, which {@link isPositiveDefinite} checks.
 */
export function cholesky(a: tf.Tensor): tf.Tensor {
  if (a.size === 0) return tf.zeros(a.shape); // tfjs's kernels mishandle empty tensors (see ops.ts)
  return tf.tidy(() => {
    const d = a.shape[a.rank - 1]!;
    const rowIndex = tf.range(0, d, 1, 'int32');
    const columns: tf.Tensor[] = [];
    for (let j = 0; j < d; j++) {
      let col = column(a, j); // [..., D]
      if (j > 0) {
        const prev = tf.stack(columns, -1); // [..., D, j]
        const rowJ = tf.gather(prev, j, prev.rank - 2); // [..., j]
        col = tf.sub(col, tf.squeeze(tf.matMul(prev, tf.expandDims(rowJ, -1)), [-1]));
      }
      const pivot = tf.sqrt(tf.gather(col, [j], col.rank - 1)); // [..., 1]
      // Entries above the diagonal are zero; the diagonal is the pivot itself.
      const below = tf.cast(tf.greater(rowIndex, j), 'float32');
      const diag = tf.cast(tf.equal(rowIndex, j), 'float32');
      columns.push(tf.add(tf.mul(tf.div(col, pivot), below), tf.mul(pivot, diag)));
    }
    return tf.stack(columns, -1);
  });
}

/** Column j of the last two axes: [..., D, D] -> [..., D]. */
function column(a: tf.Tensor, j: number): tf.Tensor {
  return tf.squeeze(tf.slice(a, [...a.shape.slice(0, -1).map(() => 0), j], [...a.shape.slice(0, -1), 1]), [-1]);
}

/**
 * Solves L X = B for lower-triangular L ([..., D, D]) and B ([..., D, N]) by forward
 * substitution; leading dimensions broadcast. Returns X, [..., D, N].
 */
export function solveLowerTriangular(l: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const d = l.shape[l.rank - 1]!;
    const batch = broadcastBatch(l.shape.slice(0, -2), b.shape.slice(0, -2));
    if (batch.includes(0) || d === 0) return tf.zeros([...batch, d, b.shape[b.rank - 1]!]);
    const lb = broadcastTo(l, [...batch, d, d]);
    const bb = broadcastTo(b, [...batch, d, b.shape[b.rank - 1]!]);
    const rows: tf.Tensor[] = [];
    const axis = batch.length;
    for (let i = 0; i < d; i++) {
      const lRow = tf.slice(lb, [...batch.map(() => 0), i, 0], [...batch, 1, d]); // [..., 1, D]
      const lii = tf.slice(lRow, [...batch.map(() => 0), 0, i], [...batch, 1, 1]);
      let rhs = tf.slice(bb, [...batch.map(() => 0), i, 0], [...batch, 1, -1]); // [..., 1, N]
      if (i > 0) {
        const solved = tf.concat(rows, axis); // [..., i, N]
        const lLeft = tf.slice(lRow, [...batch.map(() => 0), 0, 0], [...batch, 1, i]);
        rhs = tf.sub(rhs, tf.matMul(lLeft, solved));
      }
      rows.push(tf.div(rhs, lii));
    }
    return tf.concat(rows, axis);
  });
}

/** Broadcasts two batch shapes (right-aligned). */
function broadcastBatch(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** The diagonal of the last two axes: [..., D, D] -> [..., D]. */
export function diagPart(a: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const d = a.shape[a.rank - 1]!;
    return tf.sum(tf.mul(a, tf.eye(d)), -1);
  });
}

/** Inverse of a symmetric positive-definite matrix through its Cholesky factor. */
export function inverseSpd(a: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const l = cholesky(a);
    const d = a.shape[a.rank - 1]!;
    const lInv = solveLowerTriangular(l, tf.eye(d)); // L^-1
    return tf.matMul(lInv, lInv, true, false); // L^-T L^-1
  });
}

/** Lower-triangular part (including the diagonal) of the last two axes. */
export function lowerTriangle(a: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const d = a.shape[a.rank - 1]!;
    return tf.mul(a, tf.linalg.bandPart(tf.ones([d, d]), -1, 0));
  });
}

/** Swaps the last two axes. */
export function transposeLast(a: tf.Tensor): tf.Tensor {
  const perm = a.shape.map((_, i) => i);
  perm[a.rank - 1] = a.rank - 2;
  perm[a.rank - 2] = a.rank - 1;
  return transpose(a, perm);
}
