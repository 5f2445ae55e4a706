import { describe, expect, it } from 'vitest';
import { LOADABLE_FLAVORS, selectFlavor } from '../../src/flavors/registry.js';

describe('selectFlavor', () => {
  it('picks js_function when the package declares it, among other flavors', () => {
    const { loader, conf } = selectFlavor(
      { flavors: { onnx: {}, js_function: { predict_fn: 'p' } } },
      '/pkg'
    );
    expect(loader.name).toBe('js_function');
    expect(conf).toEqual({ predict_fn: 'p' });
    expect(LOADABLE_FLAVORS).toEqual(['js_function', 'onnx']);
  });

  it('picks onnx when the package declares it without js_function', () => {
    const { loader, conf } = selectFlavor(
      { flavors: { python_function: {}, onnx: { data: 'model.onnx' } } },
      '/pkg'
    );
    expect(loader.name).toBe('onnx');
    expect(conf).toEqual({ data: 'model.onnx' });
  });

  it('names the flavors found and the loadable ones when none matches', () => {
    let error: unknown;
    try {
      selectFlavor({ flavors: { python_function: {}, sklearn: {} } }, '/pkg');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'E_FLAVOR_UNSUPPORTED',
      message:
        'Model "/pkg" has flavor(s) [python_function, sklearn], none of which jsfunc can load; jsfunc loads [js_function, onnx]',
      details: { flavors: ['python_function', 'sklearn'], supported: ['js_function', 'onnx'] },
    });
  });
});
