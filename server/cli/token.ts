import { parseArgs } from 'node:util';
import { Role, LocationId } from '../../shared/protocol/token-claims';
import { loadOrCreateSecret } from '../auth/secret';
import { createTokenIssuer, parseTtl } from '../auth/tokens';
import { loadConfig } from '../config';
import { pairingLink } from '../pairing';

/**
 * npm run token -- --location demo --role terminal --terminal till-2 [--ttl 30d]
 * Mints a token with the server's secret (RMS_SECRET, or the one stored in DATA_DIR) and
 * prints it with the pairing link to open on the device.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      location: { type: 'string' },
      role: { type: 'string', default: 'terminal' },
      terminal: { type: 'string' },
      ttl: { type: 'string', default: '30d' },
      json: { type: 'boolean', default: false },
    },
  });
  const location = LocationId.parse(values.location);
  const role = Role.parse(values.role);
  if (role === 'terminal' && values.terminal === undefined) throw new Error('--terminal is required for a terminal token');
  const config = loadConfig();
  const issuer = createTokenIssuer(loadOrCreateSecret(config.dataDir, config.secret));
  const token = await issuer.mint({ location, role, terminal: values.terminal, ttlSeconds: parseTtl(values.ttl) });
  if (values.json) {
    process.stdout.write(JSON.stringify({ token, location, role, terminal: values.terminal }) + '\n');
    return;
  }
  const base = config.publicUrl ?? `http://localhost:${config.port}`;
  process.stdout.write(`${token}\n\nPairing link:\n${pairingLink(base, token, location, values.terminal ?? role)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`token: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
