/**
 * The CLI run from source (tests use it through tsx, so they never depend on a stale dist/).
 * bin/etcd-bridge.js is the same, from the compiled dist/.
 */
import { main } from './main.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.exit(await main(process.argv.slice(2)));
