// Entry point run by bin/stella-db.js (from dist, or from source through tsx).
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
