/** Small wording helpers for the verbs' messages. */

/** `1 event`, `2 events`, `1,201 events`. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? singular : plural}`;
}
