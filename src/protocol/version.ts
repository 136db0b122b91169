// The package's version (package.json), for `gmledger --version` and gmledger_build_info.

import { readFileSync } from 'node:fs';

export const PACKAGE_VERSION: string =
  (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
