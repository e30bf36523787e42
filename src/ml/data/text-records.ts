/**
 * Streaming record readers for CSV (RFC 4180: quoted fields, doubled quotes, newlines inside
 * quotes, CRLF) and JSONL. Both consume a byte stream chunk by chunk, so a file of any size
 * is read with memory bounded by its longest record.
 */
import { StringDecoder } from 'node:string_decoder';

export interface CsvRecord {
  readonly fields: readonly string[];
  /** 1-based line where the record starts. */
  readonly line: number;
}

/** Parse CSV records from chunks; the header is just the first record. */
export async function* readCsvRecords(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<CsvRecord> {
  const decoder = new StringDecoder('utf8');
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let quotePending = false; // saw a `"` inside quotes: either an escaped quote or the closing one
  let line = 1;
  let recordLine = 1;
  let sawAny = false;
  const endRecord = (): CsvRecord | undefined => {
    fields.push(field);
    field = '';
    const record = { fields, line: recordLine };
    fields = [];
    const empty = record.fields.length === 1 && record.fields[0] === '';
    return empty ? undefined : record;
  };
  const consume = function* (text: string): Generator<CsvRecord> {
    for (let i = 0; i < text.length; i += 1) {
      const char = text[i] as string;
      if (quotePending) {
        quotePending = false;
        if (char === '"') {
          field += '"';
          continue;
        }
        inQuotes = false;
      }
      if (inQuotes) {
        if (char === '"') quotePending = true;
        else {
          if (char === '\n') line += 1;
          field += char;
        }
        continue;
      }
      if (!sawAny) {
        sawAny = true;
        recordLine = line;
      }
      if (char === '"' && field === '') inQuotes = true;
      else if (char === ',') {
        fields.push(field);
        field = '';
      } else if (char === '\n') {
        const record = endRecord();
        if (record) yield record;
        line += 1;
        sawAny = false;
      } else if (char !== '\r') field += char;
    }
  };
  for await (const chunk of chunks) yield* consume(typeof chunk === 'string' ? chunk : decoder.write(chunk));
  yield* consume(decoder.end());
  if (quotePending) inQuotes = false;
  if (field !== '' || fields.length > 0) {
    const record = endRecord();
    if (record) yield record;
  }
}

export interface TextLine {
  readonly text: string;
  /** 1-based. */
  readonly line: number;
}

/** Split chunks into lines (LF or CRLF); empty lines are skipped. */
export async function* readLines(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<TextLine> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 0;
  const flush = function* (final: boolean): Generator<TextLine> {
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      line += 1;
      const text = pending.slice(0, newline).replace(/\r$/, '');
      pending = pending.slice(newline + 1);
      if (text.trim() !== '') yield { text, line };
      newline = pending.indexOf('\n');
    }
    if (final && pending.trim() !== '') {
      line += 1;
      yield { text: pending.replace(/\r$/, ''), line };
      pending = '';
    }
  };
  for await (const chunk of chunks) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    yield* flush(false);
  }
  pending += decoder.end();
  yield* flush(true);
}
