/**
 * The import rules of docs/architecture.md §3.2, as data: the layers low to high, the SDK adapters,
 * and each deliberate exception with its reason.
 */
import type { ImportRules } from './import-graph';

export const PRODUCT_FOLDERS = ['shared', 'functions', 'cli', 'simulator'] as const;

export const RULES: ImportRules = {
  layers: [
    {
      name: 'kernel',
      // mde/clouds.ts imports nothing and only config.ts reads it: the cloud table is the vocabulary
      // config.ts and mde/ share, so placing it here is what ends their former cycle (config.ts
      // reads clouds.ts; mde/ reads config.ts's types).
      members: ['shared/kernel/', 'shared/mde/clouds.ts'],
    },
    { name: 'alerts (the vocabulary)', members: ['shared/alerts/'] },
    // The tenant list is a setting (config.ts reads it) about alerts (which tenant one belongs to).
    { name: 'tenants', members: ['shared/tenants/'] },
    { name: 'settings', members: ['shared/config.ts'] },
    { name: 'HTTP JSON client', members: ['shared/http/'] },
    { name: 'MDE adapter', members: ['shared/mde/'] },
    // Sentinel's incidents on ARM, through the same JSON client and the MDE adapter's credential.
    { name: 'Sentinel adapter', members: ['shared/sentinel/'] },
    // Export to Azure Monitor, signed in with the MDE adapter's credential; dispatch counts through
    // @opentelemetry/api alone and never sees it.
    { name: 'telemetry', members: ['shared/telemetry/'] },
    // A workspace's alert history for `whatif --workspace`: the alert parsers over the Logs query API;
    // the cloud's endpoints come from mde/clouds.ts.
    { name: 'Logs query adapter', members: ['shared/logs/'] },
    { name: 'policy', members: ['shared/policy/'] },
    // A tenant's policy is the deployment's with the tenant's override, merged and validated by the
    // policy's own validator (policy-document.ts), then compiled by its engine (policy.ts): these two
    // files of the tenant room sit above the policy, the compiling one above the reading one.
    { name: 'tenant policy documents', members: ['shared/tenants/policy-document.ts'] },
    { name: 'tenant policies', members: ['shared/tenants/policy.ts'] },
    // The worker and intake decide with the shared breaker, the register and the ledgers, so the store
    // sits below dispatch: its contract (state/store.ts) and both adapters, the SDK kept in theirs.
    // What it shares with dispatch (the retry backoff) lives in the kernel.
    { name: 'state store', members: ['shared/state/'] },
    { name: 'dispatch', members: ['shared/dispatch/'] },
    { name: 'use cases around dispatch', members: ['shared/intake/', 'shared/report/'] },
    // The reconciler reads the register and MDE's actions with dispatch's judgements (in force, whose
    // action); dispatch reaches it only through the handler the composition root gives it.
    { name: 'reconciler', members: ['shared/reconcile/'] },
    // Notifications tell what dispatch, the reconciler and the breaker recorded, and what the rooms
    // above them emit (approvals, break-glass), so they sit above the records and below their emitters.
    { name: 'notifications', members: ['shared/notify/'] },
    // The manual operations read the register and the ledger (state/) besides queueing through dispatch.
    { name: 'manual operations', members: ['shared/manual/'] },
    // Approvals hold the worker's isolations (through the gate dispatch owns, which the composition root
    // gives it) and answer people through the manual operations' caller check and answers.
    { name: 'approvals', members: ['shared/approvals/'] },
    { name: 'composition root', members: ['shared/runtime.ts', 'shared/configuration-check.ts'] },
    { name: 'ways in', members: ['functions/', 'cli/', 'simulator/'] },
    // The demo drives the CLI against the simulator, so it sits above both.
    { name: 'demo', members: ['simulator/demo.ts'] },
  ],
  forbidden: ['test/'],
  adapters: {
    // The development host (npm run dev without Core Tools) plays the Functions host for the HTTP functions.
    '@azure/functions': { files: ['functions/', 'simulator/dev-host.ts'] },
    '@azure/service-bus': { files: ['shared/dispatch/transport/service-bus-queue.ts'] },
    // Elsewhere only its types (`TokenCredential`, `AccessToken`), the credential contract.
    '@azure/identity': {
      files: [
        'shared/mde/credential.ts',
        'shared/mde/tenant-credential.ts',
        'shared/state/settings.ts' /* Table storage's managed identity */,
      ],
      allowTypes: true,
    },
    '@azure/msal-node': { files: ['shared/mde/credential.ts'] },
    '@azure/data-tables': { files: ['shared/state/table.ts', 'shared/state/settings.ts'] },
    axios: { files: ['shared/http/json-client.ts'] },
    '@azure/monitor-query-logs': { files: ['shared/logs/alert-history.ts'] },
    bottleneck: { files: ['shared/dispatch/quota/call-line.ts'] },
    // The exporter set-up (docs/decisions/0025-opentelemetry-exporter-at-app-start.md); the rest of the
    // app counts through @opentelemetry/api.
    '@azure/monitor-opentelemetry-exporter': { files: ['shared/telemetry/azure-monitor.ts'] },
    '@azure/functions-opentelemetry-instrumentation': { files: ['shared/telemetry/azure-monitor.ts'] },
    '@opentelemetry/resources': { files: ['shared/telemetry/azure-monitor.ts'] },
    '@opentelemetry/sdk-logs': { files: ['shared/telemetry/azure-monitor.ts'] },
    '@opentelemetry/sdk-metrics': { files: ['shared/telemetry/azure-monitor.ts'] },
    '@opentelemetry/sdk-trace-node': { files: ['shared/telemetry/azure-monitor.ts'] },
  },
  exceptions: {
    // The demo replays the sample payloads, which live with the tests; they move out of test/ with
    // the fixtures' own module (issue 10, item 6).
    'simulator/demo.ts -> test/fixtures/index.ts': 'the demo replays the test fixtures',
  },
};
