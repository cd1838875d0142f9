// kafkajs quirk: connect() resolves even when the broker accepts TCP but never answers (its ApiVersions
// timeout is swallowed on retry). A metadata round trip proves the cluster really answers.
import type { Kafka as KafkaJs, Admin as KafkaJsAdmin } from 'kafkajs';

/** An admin client that has completed one metadata request; rejects like kafkajs would on failure. */
export async function connectedAdmin(client: KafkaJs): Promise<KafkaJsAdmin> {
  const admin = client.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return admin;
  } catch (err) {
    await admin.disconnect().catch(() => {});
    throw err;
  }
}
