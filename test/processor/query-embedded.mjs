// Runs one SELECT against an embedded ClickHouse data directory and prints the rows as JSON.
// A separate process because chdb binds one data directory per process.
import { createClickHouse } from '@rstwatch/store';

const [path, database, sql] = process.argv.slice(2);
const client = createClickHouse({ url: 'embedded', embeddedPath: path, database });
try {
  process.stdout.write(JSON.stringify(await client.query(sql)));
} finally {
  await client.close();
}
