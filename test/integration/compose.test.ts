import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { composeSchemaPath } from '../../sandbox/provision/compose-schema.js';

// No Docker engine runs here: docker-compose.yml is checked against the Compose Specification's JSON schema
// (provisioned from PyPI), and for what the stack must contain.
const compose = parse(readFileSync(fileURLToPath(new URL('../../docker-compose.yml', import.meta.url)), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    { healthcheck?: unknown; depends_on?: Record<string, { condition: string }>; environment?: Record<string, string> }
  >;
};

/**
 * The schema says draft 2019-09 but with a '#'-suffixed $schema URI and old-style `id` keywords (string
 * identifiers of the schema and its definitions), which Ajv refuses: drop both, nothing else changes.
 */
function composeValidator() {
  const text = readFileSync(composeSchemaPath(), 'utf8');
  const schema = JSON.parse(text, (key, value: unknown) =>
    (key === 'id' || key === '$schema') && typeof value === 'string' ? undefined : value,
  ) as object;
  // Compose's own string formats (durations, port specs, subnets) are unknown to Ajv: accept any string for them
  const formats = { duration: true, expose: true, ports: true, subnet_ip_address: true } as const;
  return new Ajv2019({ strict: false, allErrors: true, formats }).compile(schema);
}

test('docker-compose.yml is valid against the Compose Specification', () => {
  const validate = composeValidator();
  const valid = validate(compose);
  expect(validate.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
});

test('the stack has Temporal on SQL with its UI, the worker and the API, each with a health check', () => {
  expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgresql', 'temporal', 'temporal-ui', 'worker', 'api']));
  for (const name of ['postgresql', 'temporal', 'worker', 'api']) expect(compose.services[name]?.healthcheck).toBeDefined();
  expect(compose.services.temporal?.environment?.DB).toMatch(/^postgres/);
  expect(compose.services.worker?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  expect(compose.services.api?.environment?.BARISTA_TOKENS).toBeDefined();
});

test('the validator does reject a malformed compose file', () => {
  const validate = composeValidator();
  expect(validate({ services: { api: { image: 'x', ports: 'not-a-list', restart: 42 } } })).toBe(false);
});
