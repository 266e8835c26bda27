import { validate, SCHEMA_VERSION, TRAINING_MIME } from '../schema';
import * as wire from '@torchclad/kernel-bridge/dist/training-schema';

test("the renderer validates with kernel-bridge's one definition of the payload (no copy)", () => {
  expect(validate).toBe(wire.validate);
  expect(TRAINING_MIME).toBe(wire.TRAINING_MIME);
  expect(SCHEMA_VERSION).toBe(wire.TRAINING_SCHEMA_VERSION);
});
import { errorText } from '../transform';
import { run } from './fixtures';

function errorsOf(data: unknown): string[] {
  const r = validate(data);
  if (r.ok) throw new Error('expected a validation error');
  return r.errors;
}

describe('schema validation', () => {
  test('the MIME type is the kernel-bridge one', () => {
    expect(TRAINING_MIME).toBe('application/vnd.torchclad.training.v1+json');
  });

  test('the README example is valid', () => {
    const r = validate(run());
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.display.runs).toHaveLength(1);
      expect(r.display.comparison).toBeNull();
      expect(r.display.runs[0].model).toBe('mlp-784-64-10');
    }
  });

  test('a JSON string payload is parsed', () => {
    expect(validate(JSON.stringify(run())).ok).toBe(true);
    expect(errorsOf('{not json')[0]).toMatch(/not JSON/);
  });

  test('a wrong version names the version and what to do', () => {
    const e = errorsOf({ ...run(), version: 2 });
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(/^version: 2 is not supported .*version 1/);
  });

  test('a missing version is an error', () => {
    const { version: _v, ...rest } = run();
    expect(errorsOf(rest)[0]).toMatch(/^version: missing/);
  });

  test('not an object', () => {
    expect(errorsOf(null)[0]).toMatch(/expected a training run object, got null/);
    expect(errorsOf(42)[0]).toMatch(/got a number/);
    expect(errorsOf([])[0]).toMatch(/no training run/);
  });

  test('wrong shapes name the field', () => {
    expect(errorsOf({ ...run(), run_id: 7 })).toEqual(['run_id: expected a non-empty string, got a number']);
    expect(errorsOf({ ...run(), status: undefined })[0]).toMatch(/^status: expected a string/);
    expect(errorsOf({ ...run(), batch: '64' })[0]).toMatch(/^batch: expected a number, got the string "64"/);
    expect(errorsOf({ ...run(), steps: [1, 2] })[0]).toMatch(/^steps: expected an object/);
    expect(errorsOf({ ...run(), steps: { step: [1, 2], epoch: [1, 1], loss: [1] } })[0]).toMatch(
      /step has 2 points but loss has 1/,
    );
    expect(errorsOf({ ...run(), steps: { step: [1, 'x'], epoch: [1, 1], loss: [1, 2] } })[0]).toMatch(
      /^steps.step\[1\]: expected a number/,
    );
    expect(errorsOf({ ...run(), steps: { step: [1, 2], epoch: [1, 1], loss: [1, 'x'] } })[0]).toMatch(
      /^steps.loss\[1\]/,
    );
    expect(errorsOf({ ...run(), epoch_metrics: {} })[0]).toMatch(/^epoch_metrics: expected an array/);
    expect(errorsOf({ ...run(), epoch_metrics: [{ step: 1 }] })[0]).toMatch(/^epoch_metrics\[0\]: expected \{epoch/);
  });

  test('all errors are reported, not just the first', () => {
    expect(errorsOf({ version: 1, run_id: '', status: 3, steps: null })).toHaveLength(3);
  });

  test('null losses (non-finite numbers) are valid; optional fields default', () => {
    const r = validate({ version: 1, run_id: 'r', status: 'failed', steps: { step: [1, 2], loss: [1, null] } });
    expect(r.ok).toBe(true);
    if (r.ok) {
      const s = r.display.runs[0];
      expect(s.steps.loss).toEqual([1, null]);
      expect(s.steps.epoch).toEqual([0, 0]);
      expect(s.engine).toBe('');
      expect(s.epoch_metrics).toEqual([]);
      expect(s.loss).toBeNull();
    }
  });

  test('extra fields are ignored (forward compatible within version 1)', () => {
    expect(validate({ ...run(), something_new: { a: 1 } }).ok).toBe(true);
  });

  test('several runs: an array or {version, runs, comparison}', () => {
    const a = run({ run_id: 'a', engine: 'clad' });
    const b = run({ run_id: 'b', engine: 'libtorch' });
    const arr = validate([a, b]);
    expect(arr.ok && arr.display.runs.map((r) => r.run_id)).toEqual(['a', 'b']);
    const obj = validate({ version: 1, runs: [a, b], comparison: { baseline: 'b', title: 'clad vs libtorch' } });
    expect(obj.ok && obj.display.comparison).toEqual({ baseline: 'b', title: 'clad vs libtorch' });
  });

  test('several runs: errors name the run', () => {
    const e = errorsOf([run({ run_id: 'a' }), { ...run({ run_id: 'b' }), version: 3 }]);
    expect(e[0]).toMatch(/^runs\[1\]\.version: 3 is not supported/);
    expect(errorsOf([run(), run()])[0]).toMatch(/appears twice/);
    expect(errorsOf({ version: 1, runs: [run()], comparison: { baseline: 'zzz' } })[0]).toMatch(
      /^comparison.baseline: no run/,
    );
    expect(errorsOf({ version: 2, runs: [run()] })[0]).toMatch(/^version: 2 is not supported/);
    expect(errorsOf({ version: 1, runs: 'x' })[0]).toMatch(/^runs: expected an array/);
  });

  test('the error box text is readable and bounded', () => {
    const text = errorText(Array.from({ length: 20 }, (_, i) => `e${i}`));
    expect(text.split('\n')[0]).toBe('Cannot draw this torchclad training display:');
    expect(text).toContain('• e0');
    expect(text).toContain('... and 12 more');
    expect(text).not.toContain('• e8');
  });
});
