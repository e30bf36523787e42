/**
 * Streaming record readers for CSV (RFC 4180: quoted fields, doubled quotes, newlines inside
 * quotes, CRLF) and JSONL. Both consume a byte stream chunk by chunk, so a file of any size
 * is read with memory bounded by its longest record.
 *
 * The data is untrusted, so both are linear in the input (every character is looked at once)
 * and bounded: at most `maxFields` fields per CSV record, `maxRecordChars` characters per record
 * or line, `maxRecords` records per file; going over is a ResourceLimitError naming the line.
 */
import { StringDecoder } from 'node:string_decoder';
import { ResourceLimitError } from '../../core/errors';

export interface RecordLimits {
  /** Fields (columns) per CSV record; default {@link DEFAULT_RECORD_LIMITS}.maxFields. */
  readonly maxFields?: number;
  /** Characters in one record (CSV) or line (JSONL). */
  readonly maxRecordChars?: number;
  /** Records (lines) per file. */
  readonly maxRecords?: number;
  /** Named in error messages, e.g. the file name. */
  readonly source?: string;
}

export const DEFAULT_RECORD_LIMITS = {
  maxFields: 10_000,
  maxRecordChars: 1024 * 1024,
  maxRecords: 10_000_000,
} as const;

function limitError(limits: RecordLimits, line: number, what: string, field: string): ResourceLimitError {
  const where = `${limits.source ? `${limits.source}:` : 'line '}${line}`;
  return new ResourceLimitError(`${where}: ${what}; split the data or drop columns before pushing it`, {
    code: 'record-limit',
    line,
    limit: field,
    ...(limits.source ? { source: limits.source } : {}),
  });
}

export interface CsvRecord {
  readonly fields: readonly string[];
  /** 1-based line where the record starts. */
  readonly line: number;
}

/** Parse CSV records from chunks; the header is just the first record. */
export async function* readCsvRecords(
  chunks: AsyncIterable<Buffer | string>,
  limits: RecordLimits = {},
): AsyncGenerator<CsvRecord> {
  const maxFields = limits.maxFields ?? DEFAULT_RECORD_LIMITS.maxFields;
  const maxRecordChars = limits.maxRecordChars ?? DEFAULT_RECORD_LIMITS.maxRecordChars;
  const maxRecords = limits.maxRecords ?? DEFAULT_RECORD_LIMITS.maxRecords;
  let records = 0;
  let recordChars = 0;
  const decoder = new StringDecoder('utf8');
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let quotePending = false; // saw a `"` inside quotes: either an escaped quote or the closing one
  let line = 1;
  let recordLine = 1;
  let sawAny = false;
  const pushField = (): void => {
    if (fields.length >= maxFields) throw limitError(limits, recordLine, `more than ${maxFields} columns`, 'maxFields');
    fields.push(field);
    field = '';
  };
  const endRecord = (): CsvRecord | undefined => {
    pushField();
    recordChars = 0;
    const record = { fields, line: recordLine };
    fields = [];
    const empty = record.fields.length === 1 && record.fields[0] === '';
    if (!empty && ++records > maxRecords)
      throw limitError(limits, recordLine, `more than ${maxRecords} records`, 'maxRecords');
    return empty ? undefined : record;
  };
  const consume = function* (text: string): Generator<CsvRecord> {
    for (let i = 0; i < text.length; i += 1) {
      const char = text[i] as string;
      if (++recordChars > maxRecordChars)
        throw limitError(
          limits,
          sawAny || inQuotes ? recordLine : line,
          `a record longer than ${maxRecordChars} characters`,
          'maxRecordChars',
        );
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
      else if (char === ',') pushField();
      else if (char === '\n') {
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

/** Split chunks into lines (LF or CRLF); empty lines are skipped. Linear: each character is scanned once. */
export async function* readLines(
  chunks: AsyncIterable<Buffer | string>,
  limits: RecordLimits = {},
): AsyncGenerator<TextLine> {
  const maxRecordChars = limits.maxRecordChars ?? DEFAULT_RECORD_LIMITS.maxRecordChars;
  const maxRecords = limits.maxRecords ?? DEFAULT_RECORD_LIMITS.maxRecords;
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 0;
  let lines = 0;
  const emit = (text: string): TextLine | undefined => {
    line += 1;
    if (text.length > maxRecordChars)
      throw limitError(limits, line, `a line longer than ${maxRecordChars} characters`, 'maxRecordChars');
    if (text.trim() === '') return undefined;
    if (++lines > maxRecords) throw limitError(limits, line, `more than ${maxRecords} lines`, 'maxRecords');
    return { text: text.replace(/\r$/, ''), line };
  };
  const split = function* (text: string): Generator<TextLine> {
    let start = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
      const found = emit(pending + text.slice(start, newline));
      pending = '';
      start = newline + 1;
      if (found) yield found;
    }
    // Only the unterminated tail is kept; a line that never ends is refused once over the cap.
    pending += text.slice(start);
    if (pending.length > maxRecordChars)
      throw limitError(limits, line + 1, `a line longer than ${maxRecordChars} characters`, 'maxRecordChars');
  };
  for await (const chunk of chunks) yield* split(typeof chunk === 'string' ? chunk : decoder.write(chunk));
  yield* split(decoder.end());
  if (pending !== '') {
    const found = emit(pending);
    pending = '';
    if (found) yield found;
  }
}
