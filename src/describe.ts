/** The native table description, as the API returns it. */
import type { TableDescription } from './params';

export interface NativeDescription {
  tableName: string;
  partitionKey: { name: string; type: string };
  sortKey?: { name: string; type: string } | null;
  creationDateTime: number;
}

type KeyType = 'S' | 'N' | 'B';

export function describe(d: NativeDescription): TableDescription {
  const keySchema: TableDescription['keySchema'] = {
    partitionKey: { name: d.partitionKey.name, type: d.partitionKey.type as KeyType },
  };
  if (d.sortKey !== undefined && d.sortKey !== null) {
    keySchema.sortKey = { name: d.sortKey.name, type: d.sortKey.type as KeyType };
  }
  return { tableName: d.tableName, keySchema, creationDateTime: new Date(d.creationDateTime) };
}
