/**
 * `fineflow ui [--host H] [--port P] [--read-only] [--token T]`: the web app over the same run
 * client, registry, schedule service and spec compiler as the other commands (src/ui/).
 */
import type * as RunClientModule from '../../client/run-client';
import type * as ConfigModule from '../../config';
import type * as ScheduleClientModule from '../../schedules/schedule-client';
import type * as TemporalConnectionModule from '../../client/temporal-connection';
import type * as MinioStoreModule from '../../storage/minio-store';
import type * as ServerModule from '../../ui/server';
import { EXIT, UsageError, type CliCommand } from '../command';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../client/run-client') as typeof RunClientModule;
  const m1 = require('../../config') as typeof ConfigModule;
  const m2 = require('../../schedules/schedule-client') as typeof ScheduleClientModule;
  const m3 = require('../../client/temporal-connection') as typeof TemporalConnectionModule;
  const m4 = require('../../storage/minio-store') as typeof MinioStoreModule;
  const m5 = require('../../ui/server') as typeof ServerModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    RunClient: m0.RunClient,
    loadConfig: m1.loadConfig,
    ScheduleService: m2.ScheduleService,
    connectClient: m3.connectClient,
    createObjectStoreFromConfig: m4.createObjectStoreFromConfig,
    startUiServer: m5.startUiServer,
  };
}

export const DEFAULT_UI_PORT = 8090;

export const command: CliCommand = {
  name: 'ui',
  summary: 'serve the web app: runs with live DAGs and logs, models, schedules, pipeline validation',
  usage: 'ui [--host H] [--port P] [--read-only] [--token T]',
  description: [
    `Listens on 127.0.0.1:${DEFAULT_UI_PORT} by default. Any other --host needs a token (--token or`,
    'FINEFLOW_UI_TOKEN): open http://HOST:PORT/?token=… once, or send Authorization: Bearer …;',
    'or keep the loopback default and put an authenticating proxy in front.',
    '--read-only disables every action (retry, cancel, rerun, promote, schedule changes, submit).',
    'FINEFLOW_TEMPORAL_UI_URL (e.g. http://127.0.0.1:8233) adds links to each run in the Temporal UI.',
    'Runs until interrupted (Ctrl-C).',
    '',
    'exit codes: 0 stopped, 1 could not start, 2 usage error, 3 Temporal unreachable',
  ].join('\n'),
  examples: [
    { command: 'fineflow ui', explanation: 'serve on 127.0.0.1 (loopback needs no token)' },
    {
      command: 'FINEFLOW_UI_TOKEN=$(openssl rand -hex 16) fineflow ui --host 0.0.0.0 --read-only',
      explanation: 'share a read-only view, behind a token',
    },
  ],
  json: 'it serves until interrupted; its JSON API is under /api',
  options: [
    { name: 'host', kind: 'string', valueName: 'H', description: 'address to listen on (default 127.0.0.1)' },
    {
      name: 'port',
      kind: 'string',
      valueName: 'P',
      description: `port (default ${DEFAULT_UI_PORT}; 0 = any free port)`,
    },
    { name: 'read-only', kind: 'boolean', description: 'show everything, change nothing' },
    { name: 'token', kind: 'string', valueName: 'T', description: 'require this token (default FINEFLOW_UI_TOKEN)' },
  ],
  async run(args, io) {
    const { RunClient, loadConfig, ScheduleService, connectClient, createObjectStoreFromConfig, startUiServer } =
      load();
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
    const port = args.values.port === undefined ? DEFAULT_UI_PORT : Number(args.values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port ${args.values.port}: expected a port number 0-65535`);
    const config = loadConfig(io.env);
    const client = await connectClient(config.temporal);
    const token = args.values.token ?? config.ui.token;
    const store = createObjectStoreFromConfig(config);
    const ui = await startUiServer(
      {
        runs: new RunClient(client, {
          bucket: config.s3.bucket,
          store,
          ...(config.ui.url ? { uiUrl: config.ui.url } : {}),
        }),
        store,
        bucket: config.s3.bucket,
        schedules: new ScheduleService(client, {
          bucket: config.s3.bucket,
          ...(config.ui.url ? { uiUrl: config.ui.url } : {}),
        }),
        namespace: config.temporal.namespace,
        ...(config.ui.temporalUiUrl ? { temporalUiUrl: config.ui.temporalUiUrl } : {}),
        log: (line) => io.stderr.write(`fineflow ui: ${line}\n`),
      },
      {
        host: args.values.host ?? '127.0.0.1',
        port,
        readOnly: args.flags['read-only'] === true,
        ...(token ? { token } : {}),
      },
    );
    io.stdout.write(
      `fineflow ui: ${ui.url}${args.flags['read-only'] ? ' (read-only)' : ''}${token ? ' (token required)' : ''}\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await ui.close();
    await client.connection.close();
    return EXIT.ok;
  },
};
