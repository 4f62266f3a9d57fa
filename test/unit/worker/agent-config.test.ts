import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigFrom, loadAgentKubeConfig } from '../../../worker/agent-config.js';
import { AgentError } from '../../../worker/agent-errors.js';

const env = { BARISTA_TOPOLOGY: 'topology.yaml', TEMPORAL_ADDRESS: '127.0.0.1:7233', KUBECONFIG: '/k/kc2.yaml' };

test('settings from the command line and the environment; --cluster wins', () => {
  expect(agentConfigFrom({ ...env, BARISTA_AGENT_CLUSTER: 'kc7' }, ['--cluster', 'kc2'])).toEqual({
    cluster: 'kc2',
    topology: 'topology.yaml',
    kubeconfig: '/k/kc2.yaml',
    temporalAddress: '127.0.0.1:7233',
    namespace: 'default',
    taskQueue: 'barista',
    trafficService: true,
  });
  expect(agentConfigFrom({ ...env, BARISTA_AGENT_CLUSTER: 'kc7', KUBECONFIG: '' }, []).cluster).toBe('kc7');
  expect(agentConfigFrom({ ...env, KUBECONFIG: '' }, ['--cluster', 'kc2']).kubeconfig).toBeUndefined();
});

test('the Service traffic component is on unless BARISTA_AGENT_TRAFFIC or --traffic says none; the central queue is settable', () => {
  const config = (e: Record<string, string>, argv: string[] = []) => agentConfigFrom({ ...env, ...e }, ['--cluster', 'kc2', ...argv]);
  expect(config({ BARISTA_AGENT_TRAFFIC: 'none' }).trafficService).toBe(false);
  expect(config({ BARISTA_AGENT_TRAFFIC: 'none' }, ['--traffic', 'service']).trafficService).toBe(true);
  expect(config({}, ['--traffic', 'none']).trafficService).toBe(false);
  expect(config({ BARISTA_TASK_QUEUE: 'central' }).taskQueue).toBe('central');
});

test.each([
  [{}, [], /name it with --cluster <name> or BARISTA_AGENT_CLUSTER/],
  [{ ...env, BARISTA_AGENT_TRAFFIC: 'rpc' }, ['--cluster', 'kc2'], /traffic: must be service or none/],
  [env, ['--cluster', 'kc2', '--traffic'], /traffic: must be service or none/],
  [{ TEMPORAL_ADDRESS: 'x:1' }, ['--cluster', 'kc2'], /topology: is required \(BARISTA_TOPOLOGY/],
  [{ BARISTA_TOPOLOGY: 't.yaml' }, ['--cluster', 'kc2'], /temporalAddress: is required \(TEMPORAL_ADDRESS/],
  [env, ['--cluster', 'KC2'], /cluster: must be lowercase/],
  [env, ['--cluster'], /name it with --cluster/],
])('missing or malformed settings are refused naming them: %j %j', (e, argv, message) => {
  const run = () => agentConfigFrom(e, argv);
  expect(run).toThrow(AgentError);
  expect(run).toThrow(message);
});

describe('the kubeconfig holds one cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
  const kubeconfig = (contexts: string[]) => {
    const file = join(dir, `${contexts.join('-') || 'none'}.yaml`);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: contexts.map((c) => ({ name: c, cluster: { server: `https://127.0.0.1:6443/${c}` } })),
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: contexts.map((c) => ({ name: c, context: { cluster: c, user: 'u' } })),
        'current-context': contexts[0] ?? '',
      }),
    );
    return file;
  };

  test('one context: taken, whatever its name', () => {
    const kc = loadAgentKubeConfig(kubeconfig(['admin@kc2']));
    expect(kc.getCurrentContext()).toBe('admin@kc2');
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443/admin@kc2');
  });

  test('several contexts: refused, naming them', () => {
    expect(() => loadAgentKubeConfig(kubeconfig(['kc1', 'kc2']))).toThrow(
      /must hold one cluster's credentials, one context; it has kc1, kc2/,
    );
  });

  test('a missing file, or none outside a pod: refused', () => {
    expect(() => loadAgentKubeConfig(join(dir, 'absent.yaml'))).toThrow(/absent\.yaml does not exist/);
    expect(() => loadAgentKubeConfig(undefined, false)).toThrow(/no kubeconfig: set KUBECONFIG/);
  });
});
