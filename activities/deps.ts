/** What the activities close over; the worker wires the real ones, tests their own. */
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import type { Mailer } from '../common/mail/mailer';
import type { AppMetrics } from '../common/metrics';
import type { ConnectorRegistry } from '../connectors/registry';
import type { SecretKey } from '../connectors/secrets';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  /** Base of accept links in invitation mails. */
  publicUrl: string;
  /** Sender unless the tenant configures its own in an allowed domain. */
  mailFrom: string;
  /** Domains tenants may send from besides mailFrom's (MAIL_ALLOWED_FROM_DOMAINS; common/mail/sender.ts). Default none. */
  allowedFromDomains?: string[];
  /**
   * How long a claimed mail delivery is reserved for the try that claimed it (MAIL_SEND_LEASE).
   * A try that has not reported back by then is taken as cut off, and the mail is sent again.
   * Longer than one SMTP exchange can last (the mail activity's 1-minute timeout). Default 2 min.
   */
  mailSendLeaseMs?: number;
  /** Lines written while an activity runs carry its workflowId, runId and requestId (worker/activity-interceptor.ts). */
  logger: Logger;
  /** Where the lifecycle metrics go (activities/lifecycle-metrics.ts). Default: the process's (appMetrics()). */
  metrics?: AppMetrics;
  /**
   * Each tenant's connector to its application (connectors/registry.ts). Default: built over `db`,
   * its secrets decrypted with `connectorSecretKeys`.
   */
  connectors?: ConnectorRegistry;
  /** CONNECTOR_SECRETS_KEYS, parsed (connectors/secrets.ts). Default: the key kept in the database (development). */
  connectorSecretKeys?: SecretKey[];
}
