import type { ServerAddress } from '../util/connection-url.js';
import type { ProviderName } from '../server/options.js';

/** What a provider hands back: where the server is, and how to let go of it. */
export interface StartedServer {
  provider: ProviderName;
  address: ServerAddress;
  /** Database to connect to for administration (CREATE/DROP DATABASE). */
  adminDatabase: string;
  /** One line for the log: how the server was obtained and how long it took. */
  detail: string;
  /** Stops the server, or releases this process's claim on a shared one. */
  release(): Promise<void>;
}
