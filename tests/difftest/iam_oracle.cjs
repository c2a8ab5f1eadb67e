// Differential-test oracle: decides each case of a JSON-lines file with the core engine of
// @cloud-copilot/iam-simulate (npm, AGPL-3.0-or-later; used as an external program at test time,
// never vendored), exactly as that project's own core-engine tests do: RCPFullAWSAccess is added
// to every RCP level. Prints one JSON line per case: {"id", "decision"} or {"id", "error"}.
// Usage: node iam_oracle.cjs NODE_MODULES_DIR CASES.jsonl
'use strict';
const path = require('path');
const fs = require('fs');
const readline = require('readline');
const modules = path.resolve(process.argv[2]);
const dist = path.join(modules, '@cloud-copilot/iam-simulate/dist/cjs/');
const { authorize } = require(dist + 'core_engine/CoreSimulatorEngine.js');
const { AwsRequestImpl } = require(dist + 'request/request.js');
const { RequestContextImpl } = require(dist + 'requestContext.js');
const { DiscoveryContextKeyConstraints } = require(dist + 'context_keys/discoveryContextKeyConstraints.js');
const { loadPolicy } = require('module').createRequire(path.join(modules, 'oracle.js'))('@cloud-copilot/iam-policy');

const allowAll = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

function decide(c) {
  const r = c.request;
  const request = new AwsRequestImpl(r.principal, { resource: r.resource, accountId: r.resourceAccount },
    r.action, new RequestContextImpl(r.context || {}), !!r.wildcardOnlyAction);
  const load = (p, name) => loadPolicy(p, { name });
  const levels = (ls, extra) => (ls || []).map((l) => ({
    orgIdentifier: l.orgIdentifier,
    policies: [...(extra ? [load(extra, 'RCPFullAWSAccess')] : []), ...l.policies.map((p, i) => load(p, String(i)))]
  }));
  const result = authorize({
    request,
    sessionPolicy: c.sessionPolicy ? load(c.sessionPolicy, 'session') : undefined,
    identityPolicies: (c.identityPolicies || []).map((p, i) => load(p, String(i))),
    serviceControlPolicies: levels(c.serviceControlPolicies, null),
    resourceControlPolicies: levels(c.resourceControlPolicies, allowAll),
    resourcePolicy: c.resourcePolicy ? load(c.resourcePolicy, 'resource') : undefined,
    permissionBoundaries: c.permissionBoundaries ? c.permissionBoundaries.map((p, i) => load(p, String(i))) : undefined,
    vpcEndpointPolicies: c.endpointPolicies ? c.endpointPolicies.map((p, i) => load(p, String(i))) : undefined,
    simulationParameters: {
      simulationMode: c.mode === 'Discovery' ? 'Discovery' : 'Strict',
      discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints(c.discoveryContextKeyConstraints || [])
    }
  });
  return result.result;
}

const rl = readline.createInterface({ input: fs.createReadStream(process.argv[3]) });
const out = [];
rl.on('line', (line) => {
  if (!line.trim()) return;
  const c = JSON.parse(line);
  try {
    out.push(JSON.stringify({ id: c.id, decision: decide(c) }));
  } catch (e) {
    out.push(JSON.stringify({ id: c.id, error: String(e && e.message || e) }));
  }
});
rl.on('close', () => process.stdout.write(out.join('\n') + '\n'));
