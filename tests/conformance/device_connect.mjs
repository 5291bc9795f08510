// A device-signed connect, built as OpenClaw's clients build it (reference/openclaw-protocol.md §1:
// ed25519 over `v3|deviceId|clientId|mode|role|scopesCSV|signedAtMs|token|nonce|platform|deviceFamily`,
// deviceId = sha256(raw public key) in hex, key and signature base64url), with node's own crypto.
//   node device_connect.mjs URL KEY-FILE TOKEN [DEVICE-TOKEN]
// KEY-FILE holds the device's PKCS#8 PEM private key; it is created on first use. Connects once, prints
// the connect response frame (one JSON line) and exits 0 when a response arrived, 1 otherwise. With
// DEVICE-TOKEN, auth carries that device token instead of the shared token.
import crypto from 'node:crypto';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';

const [url, keyFile, token, deviceToken] = process.argv.slice(2);
if (!url || !keyFile || token === undefined) {
  console.error('usage: node device_connect.mjs URL KEY-FILE TOKEN [DEVICE-TOKEN]');
  process.exit(2);
}
if (!existsSync(keyFile)) {
  const {privateKey} = crypto.generateKeyPairSync('ed25519');
  writeFileSync(keyFile, privateKey.export({format: 'pem', type: 'pkcs8'}), {mode: 0o600});
}
const privateKey = crypto.createPrivateKey(readFileSync(keyFile));
const spki = crypto.createPublicKey(privateKey).export({format: 'der', type: 'spki'});
const raw = spki.subarray(spki.length - 32);  // the SPKI of an Ed25519 key ends with its 32 raw bytes
const publicKey = raw.toString('base64url');
const deviceId = crypto.createHash('sha256').update(raw).digest('hex');

const client = {id: 'cli', version: '2026.9.6', platform: 'linux', mode: 'cli'};
const role = 'operator';
const scopes = ['operator.read', 'operator.pairing'];
const auth = deviceToken ? {deviceToken} : {token};
const signedToken = deviceToken || token;  // an empty DEVICE-TOKEN argument means none

const timer = setTimeout(() => {
  console.error('no answer within 10 s');
  process.exit(1);
}, 10000);
const ws = new WebSocket(url);
ws.onmessage = (event) => {
  const frame = JSON.parse(event.data);
  if (frame.type === 'event' && frame.event === 'connect.challenge') {
    const nonce = frame.payload.nonce;
    const signedAt = Date.now();
    const payload =
        ['v3', deviceId, client.id, client.mode, role, scopes.join(','), String(signedAt), signedToken, nonce,
         client.platform.toLowerCase(), ''].join('|');
    const signature = crypto.sign(null, Buffer.from(payload, 'utf8'), privateKey).toString('base64url');
    ws.send(JSON.stringify({
      type: 'req',
      id: 'connect-1',
      method: 'connect',
      params: {
        minProtocol: 4,
        maxProtocol: 4,
        client,
        role,
        scopes,
        auth,
        device: {id: deviceId, publicKey, signature, signedAt, nonce},
      },
    }));
  } else if (frame.type === 'res' && frame.id === 'connect-1') {
    console.log(JSON.stringify({deviceId, ...frame}));
    clearTimeout(timer);
    ws.close();
    process.exit(0);
  }
};
ws.onerror = (err) => {
  console.error(`websocket error: ${err.message ?? err}`);
  process.exit(1);
};
