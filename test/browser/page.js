// Runs in Chromium, driven by test/browser.test.ts: the client SDK as a web page uses it —
// loaded from dist/ as native ES modules (no bundler), the WASM core fetched from build/,
// native WebSocket, SM2 keys and signatures made here. Plain browser JavaScript on purpose.

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const LEDGER = 1;

let sdk;
let signer;

window.gm = {
  /** Imports the SDK and makes a key pair; reports what a browser-only page would see. */
  async load() {
    const t0 = performance.now();
    sdk = await import('/dist/src/client/index.js');
    const loadMs = performance.now() - t0;
    signer = sdk.generateSigner();
    return {
      loadMs,
      publicKey: hex(signer.publicKey),
      keyId: hex(signer.keyId),
      // No Node shims on this page: the SDK must not need them.
      globals: { Buffer: typeof Buffer, process: typeof process, require: typeof require, WebSocket: typeof WebSocket },
    };
  },

  /**
   * Connects with the browser's own WebSocket, authenticates with the key made in load(),
   * creates two accounts it controls, moves `amount` between them, and sends one transfer
   * whose bytes were changed after signing (the node must refuse it).
   */
  async run({ url, accountA, accountB, transferId, forgedId, amount }) {
    const client = await sdk.Client.connect(url, { signer: sdk.authSigner(signer) });
    const chainId = client.chainId;
    const accounts = [accountA, accountB].map((id) =>
      sdk.records.createAccount({ chainId, id: BigInt(id), ledger: LEDGER, code: 1, controller: signer.keyId }, signer));
    const created = await client.submitBatch(accounts);
    const transfer = sdk.records.transfer({
      chainId, id: BigInt(transferId), debitAccountId: BigInt(accountA), creditAccountId: BigInt(accountB),
      amount: BigInt(amount), ledger: LEDGER, code: 1,
    }, signer);
    const forged = sdk.records.transfer({
      chainId, id: BigInt(forgedId), debitAccountId: BigInt(accountA), creditAccountId: BigInt(accountB),
      amount: 1n, ledger: LEDGER, code: 1,
    }, signer);
    forged[100] ^= 1; // inside the signed message: the signature no longer matches
    const moved = await client.submitBatch([transfer, forged]);
    const pong = await client.ping().then(() => true, (e) => String(e));
    await client.close();
    return {
      chainId,
      created,
      moved,
      pong,
      records: { accountA: hex(accounts[0]), accountB: hex(accounts[1]), transfer: hex(transfer), forged: hex(forged) },
      // Every module and asset the page fetched (NodeWebSocket must not be among them).
      resources: performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname),
    };
  },
};

window.gmReady = true;
