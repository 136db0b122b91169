// Minimal typings for the parts of sm-crypto (no bundled types) this project uses.
declare module 'sm-crypto' {
  export const sm3: (data: string | number[] | Uint8Array) => string;
  export const sm2: {
    generateKeyPairHex(): { privateKey: string; publicKey: string };
    doSignature(msg: string | number[] | Uint8Array, privateKey: string, options?: Record<string, unknown>): string;
    doVerifySignature(
      msg: string | number[] | Uint8Array, signature: string, publicKey: string, options?: Record<string, unknown>,
    ): boolean;
    getPublicKeyFromPrivateKey(privateKey: string): string;
  };
}
