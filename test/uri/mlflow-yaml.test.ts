import { describe, expect, it } from 'vitest';
import { dumpMlflowYaml, parseMlflowYaml } from '../../src/uri/mlflow-yaml.js';

// Expected texts: PyYAML 6.0.3 `yaml.safe_dump(d, default_flow_style=False, allow_unicode=True)`
// of the same dicts (MLflow's `write_yaml`), captured once and pasted here.
const RUN = `artifact_uri: file:///tmp/mlruns/0/0123456789abcdef0123456789abcdef/artifacts
deleted_time: null
end_time: null
entry_point_name: ''
experiment_id: '0'
lifecycle_stage: active
run_id: 0123456789abcdef0123456789abcdef
run_name: bold-owl-42
run_uuid: 0123456789abcdef0123456789abcdef
source_name: ''
source_type: 4
source_version: ''
start_time: 1700000000500
status: 1
tags: []
user_id: tester
`;

const VERSION = `creation_timestamp: 1700000005000
current_stage: None
deployment_job_state: null
description: null
last_updated_timestamp: 1700000005000
model_id: null
name: fraud
run_id: 0123456789abcdef0123456789abcdef
run_link: null
source: file:///tmp/mlruns/0/0123456789abcdef0123456789abcdef/artifacts/model
status: READY
status_message: null
storage_location: file:///tmp/mlruns/0/0123456789abcdef0123456789abcdef/artifacts/model
user_id: null
version: 1
`;

describe('MLflow meta.yaml text', () => {
  it("writes what PyYAML's safe_dump writes", () => {
    for (const text of [
      RUN,
      VERSION,
      'aliases: {}\ncreation_timestamp: 1\ndescription: null\nlast_updated_timestamp: 2\nname: fraud\n',
      "artifact_location: file:///tmp/ml runs/0\ncreation_time: 1700000000000\nexperiment_id: '0'\n" +
        'last_update_time: 1700000000000\nlifecycle_stage: active\nname: Default\n',
      "model_name: fraud\nmodel_version: '3'\n",
    ]) {
      const value = parseMlflowYaml(text) as Record<string, unknown>;
      // Insertion order must not matter: MLflow sorts keys.
      const shuffled = Object.fromEntries(Object.entries(value).reverse());
      expect(dumpMlflowYaml(shuffled)).toBe(text);
    }
  });

  it('reads scalars as PyYAML does (YAML 1.1), and quotes what YAML 1.1 would misread', () => {
    expect(parseMlflowYaml("a: None\nb: 'on'\nc: on\nd: 1e3\ne: 12e45\nf: 0777\n")).toEqual({
      a: 'None',
      b: 'on',
      c: true,
      // PyYAML's float pattern needs a dot: a hex run id like 12e45... stays text.
      d: '1e3',
      e: '12e45',
      f: 511,
    });
    expect(dumpMlflowYaml({ name: 'yes', id: '0777', run: '12e45' })).toBe(
      "id: '0777'\nname: 'yes'\nrun: 12e45\n"
    );
  });
});
