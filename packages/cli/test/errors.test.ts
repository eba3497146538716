import { FoldnetError } from '@foldnet/core';
import { describe, expect, it } from 'vitest';
import { CheckFailed, describeError, Interrupted, UsageError } from '@foldnet/cli';

describe('errors map to one line and an exit code', () => {
  it('a UsageError is exit 2 with the command named', () => {
    expect(describeError('train', new UsageError('--lr: expected a positive number, got "fast"'))).toEqual({
      line: 'foldnet train: --lr: expected a positive number, got "fast"',
      exitCode: 2,
    });
  });

  it('a FoldnetError from bad input (format) is exit 2; a numeric one is exit 1', () => {
    expect(describeError('eval', new FoldnetError('format', 'safetensors: header length 9e9 exceeds the file'))).toEqual({
      line: 'foldnet eval: safetensors: header length 9e9 exceeds the file',
      exitCode: 2,
    });
    expect(describeError('train', new FoldnetError('numeric', 'loss is NaN at step 3')).exitCode).toBe(1);
  });

  it('a ShapeError value from layers is exit 2 with its message', () => {
    const shapeError = { _tag: 'ShapeError', layerIndex: 0, layerName: 'conv1', inputShape: [1, 3, 3], expected: 'x', message: 'layer 0 (conv1: conv2d): input [1,3,3], expected spatial size at least 5x5' };
    expect(describeError('summary', shapeError)).toEqual({ line: `foldnet summary: ${shapeError.message}`, exitCode: 2 });
  });

  it('a multi-line message keeps only its first line; a CheckFailed is exit 1', () => {
    expect(describeError('gradcheck', new CheckFailed('2 gradients exceed 1e-5\nmore')).line).toBe('foldnet gradcheck: 2 gradients exceed 1e-5');
    expect(describeError('gradcheck', new CheckFailed('x')).exitCode).toBe(1);
  });

  it('an unexpected error is an internal error, exit 1, pointing at --debug', () => {
    expect(describeError('', new TypeError('x is undefined'))).toEqual({
      line: 'foldnet: internal error: x is undefined (run with --debug for the stack trace)',
      exitCode: 1,
    });
  });

  it('Interrupted (Ctrl-C) is exit 130, 128 + SIGINT, with its message', () => {
    expect(describeError('train', new Interrupted('interrupted at step 7 of 50: saved run/checkpoint.safetensors'))).toEqual({
      line: 'foldnet train: interrupted at step 7 of 50: saved run/checkpoint.safetensors',
      exitCode: 130,
    });
  });
});
