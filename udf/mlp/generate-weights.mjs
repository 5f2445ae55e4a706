#!/usr/bin/env node
// Writes the weights of the mlp example, deterministically.
//
// Usage: node udf/mlp/generate-weights.mjs [--hidden 64,64] [--seed 7] [--out udf/mlp/data/weights.json]
//
// Format (read by model.ts): { features: string[], layers: [{ inputs, outputs, activation:
// "tanh" | "linear", weights: number[outputs * inputs] (row-major: weights[o * inputs + i]),
// bias: number[outputs] }] }. Hidden layers use tanh; the single output unit is linear.
// Weights are Glorot-uniform, U(-a, a) with a = sqrt(6 / (inputs + outputs)), from mulberry32.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../shared/spec-helpers.mjs';

export const defaultPath = fileURLToPath(new URL('./data/weights.json', import.meta.url));
export const defaults = {
  features: ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9'],
  hidden: [64, 64],
  seed: 7,
};

/**
 * Builds the weights object (no file access).
 * @param {{ features?: string[], hidden?: number[], seed?: number }} [options]
 */
export function makeWeights(options = {}) {
  const features = options.features ?? defaults.features;
  const hidden = options.hidden ?? defaults.hidden;
  const seed = options.seed ?? defaults.seed;
  for (const size of hidden) {
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`makeWeights: hidden layer sizes must be positive integers; found ${size}`);
    }
  }
  const random = mulberry32(seed);
  const sizes = [features.length, ...hidden, 1];
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l];
    const outputs = sizes[l + 1];
    const a = Math.sqrt(6 / (inputs + outputs));
    // Rounded to 6 significant digits: keeps the JSON small; the model uses the stored values.
    const draw = () => Number(((random() * 2 - 1) * a).toPrecision(6));
    layers.push({
      inputs,
      outputs,
      activation: l + 2 < sizes.length ? 'tanh' : 'linear',
      weights: Array.from({ length: inputs * outputs }, draw),
      bias: Array.from({ length: outputs }, () => Number((draw() * 0.1).toPrecision(6))),
    });
  }
  return { features, seed, layers };
}

/**
 * Writes the weights JSON.
 * @param {{ outPath?: string, features?: string[], hidden?: number[], seed?: number }} [options]
 * @returns {{ path: string, parameters: number }}
 */
export function generateWeights(options = {}) {
  const path = resolve(options.outPath ?? defaultPath);
  const weights = makeWeights(options);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(weights) + '\n');
  const parameters = weights.layers.reduce((n, l) => n + l.weights.length + l.bias.length, 0);
  return { path, parameters };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { hidden: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } },
  });
  const info = generateWeights({
    outPath: values.out,
    hidden: values.hidden === undefined ? undefined : values.hidden.split(',').map(Number),
    seed: values.seed === undefined ? undefined : Number(values.seed),
  });
  console.log(`wrote ${info.path}: ${info.parameters} parameters`);
}
