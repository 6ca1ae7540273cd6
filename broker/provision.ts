// `npm run provision`: registers simulated devices with a running gateway's
// admin API and writes their secrets to a credentials file that
// `npm run devices -- --credentials FILE` reads. Secrets are shown once by
// the gateway, so this file is the only copy: keep it private.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { deviceIds } from '../devices/fleet.js';

export interface ProvisionIo {
  out: (line: string) => void;
  err: (line: string) => void;
  fetch: typeof fetch;
}

const HELP = `Usage: npm run provision -- [options]

Registers devices with a gateway and writes { "devices": [ { "id", "secret" } ] }.

  --url URL           the gateway's HTTP address (default http://127.0.0.1:8080)
  --count N           how many devices (default 10)
  --id-prefix P       ids are P-0001, P-0002, ... as the simulator names them (default sim)
  --out FILE          where to write the credentials (default credentials.json)
  --admin-token T     bearer token, when the gateway sets ADMIN_TOKEN (default: $ADMIN_TOKEN)
  --rotate            give devices that already exist a new secret instead of failing
  --help              this text
`;

/** Up to `limit` calls at once, so thousands of devices do not open thousands of HTTP requests together. */
async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit) results.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return results;
}

export async function run(argv: string[], io: ProvisionIo = { out: console.log, err: console.error, fetch }): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:8080' },
        count: { type: 'string', default: '10' },
        'id-prefix': { type: 'string', default: 'sim' },
        out: { type: 'string', default: 'credentials.json' },
        'admin-token': { type: 'string', default: process.env.ADMIN_TOKEN ?? '' },
        rotate: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) {
    io.err('--count must be an integer from 1 to 100000');
    return 2;
  }
  const auth: Record<string, string> = values['admin-token'] ? { authorization: `Bearer ${values['admin-token']}` } : {};
  const headers = { ...auth, 'content-type': 'application/json' };
  const base = `${values.url.replace(/\/$/, '')}/api/admin/devices`;

  const register = async (id: string): Promise<{ id: string; secret: string }> => {
    let response = await io.fetch(base, { method: 'POST', headers, body: JSON.stringify({ id }) });
    if (response.status === 409 && values.rotate) {
      response = await io.fetch(`${base}/${id}/rotate`, { method: 'POST', headers: auth });
    }
    const body = (await response.json()) as { id?: string; secret?: string; error?: { code: string; message: string } };
    if (!response.ok || !body.secret) throw new Error(`${id}: ${response.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`.trim());
    return { id, secret: body.secret };
  };
  try {
    const devices = await inBatches(deviceIds(count, values['id-prefix']), 32, register);
    fs.writeFileSync(values.out, `${JSON.stringify({ devices }, null, 2)}\n`, { mode: 0o600 });
    io.out(`provisioned ${devices.length} devices; credentials in ${values.out} (keep it private: the gateway stores only hashes)`);
    return 0;
  } catch (err) {
    io.err(`provisioning failed: ${(err as Error).message}${values.rotate ? '' : ' (use --rotate to renew existing devices)'}`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run(process.argv.slice(2)).then((code) => process.exit(code));
}
