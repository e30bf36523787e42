/**
 * `fineflow codec-server`: decrypts payloads for the Temporal UI and the `temporal` CLI over
 * Temporal's codec-server protocol (src/security/codec-server.ts), with the workers' key ring.
 */
import { once } from 'node:events';
import { EXIT, UsageError, type CliCommand } from '../command';
import type * as ConfigModule from '../../config';
import { InvalidInputError } from '../../core/errors';
import type * as PayloadCodecModule from '../../security/payload-codec';
import type * as CodecServerModule from '../../security/codec-server';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../config') as typeof ConfigModule;
  const m1 = require('../../security/payload-codec') as typeof PayloadCodecModule;
  const m2 = require('../../security/codec-server') as typeof CodecServerModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    loadCodecServerConfig: m0.loadCodecServerConfig,
    loadConfig: m0.loadConfig,
    AesGcmPayloadCodec: m1.AesGcmPayloadCodec,
    createCodecServer: m2.createCodecServer,
  };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const command: CliCommand = {
  name: 'codec-server',
  summary: 'serve /encode and /decode so the Temporal UI can show encrypted payloads',
  usage: 'codec-server [--port N] [--host ADDRESS]',
  description: [
    "Answers Temporal's codec-server protocol (POST …/encode, …/decode) with the payload keys of",
    'FINEFLOW_CODEC_KEYS / FINEFLOW_CODEC_KEY_FILE. Every request needs Authorization: Bearer',
    '$FINEFLOW_CODEC_SERVER_TOKEN; browsers are answered only from FINEFLOW_CODEC_SERVER_ORIGINS',
    '(default: the local Temporal UI). Listens on loopback unless --host says otherwise (then put',
    'TLS in front of it). Stops on SIGINT/SIGTERM. In the Temporal UI: Settings → Codec Server → its URL.',
  ].join('\n'),
  examples: [
    {
      command: 'FINEFLOW_CODEC_SERVER_TOKEN=$(head -c 32 /dev/urandom | base64) fineflow codec-server --port 8888',
      explanation: 'serve the payload keys on 127.0.0.1:8888; with --json, print a ready event',
    },
    {
      command: 'temporal workflow show -w RUN --codec-endpoint http://127.0.0.1:8888 --codec-auth "Bearer $TOKEN"',
      explanation: "decode a run's history in the Temporal CLI (in the UI: Settings → Codec Server)",
    },
  ],
  json: true,
  options: [
    {
      name: 'port',
      kind: 'string',
      valueName: 'N',
      description: 'port to listen on (default 8888; 0 = any free port)',
    },
    { name: 'host', kind: 'string', valueName: 'ADDRESS', description: 'address to bind (default 127.0.0.1)' },
  ],
  async run(args, io) {
    const { loadCodecServerConfig, loadConfig, AesGcmPayloadCodec, createCodecServer } = load();
    const port = args.values.port === undefined ? 8888 : Number(args.values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port ${args.values.port}: expected a port number`);
    const host = args.values.host ?? '127.0.0.1';
    const { codec } = loadConfig(io.env).temporal;
    if (codec.mode !== 'encrypt') {
      throw new InvalidInputError(
        'the codec server needs the payload keys: set FINEFLOW_CODEC_KEYS or FINEFLOW_CODEC_KEY_FILE',
      );
    }
    const server = createCodecServer({ codec: new AesGcmPayloadCodec(codec.keys), ...loadCodecServerConfig(io.env) });
    server.listen(port, host);
    await once(server, 'listening');
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
    if (args.flags.json) io.stdout.write(`${JSON.stringify({ event: 'ready', url, pid: process.pid })}\n`);
    else
      io.stdout.write(
        `codec server listening on ${url}${LOOPBACK.has(host) ? '' : ' (not loopback: serve it behind TLS)'}\n`,
      );
    await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
    server.close();
    server.closeAllConnections();
    return EXIT.ok;
  },
};
