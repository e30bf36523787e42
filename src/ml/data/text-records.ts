/**
 * Streaming record readers for CSV and JSONL. Both consume a byte stream chunk by chunk, so a
 * file of any size is read with memory bounded by its longest record.
 *
 * CSV is parsed by `csv-parse` (RFC 4180 quoting, doubled quotes, newlines inside quotes, CRLF, a
 * UTF-8 byte-order mark), a well-kept parser, rather than by hand; its delimiter is `,`, `;`, tab
 * or `|`, sniffed from the header line unless given. Chunks are written to it one at a time and its
 * records drained before the next chunk is pulled, so a limit stops the read inside the chunk that
 * breaks it.
 *
 * The data is untrusted, so both are bounded: at most `maxFields` fields per CSV record,
 * `maxRecordChars` characters per record or line, `maxRecords` records per file; going over is a
 * ResourceLimitError naming the line. Broken quoting is an InvalidInputError naming the line.
 */
import { StringDecoder } from 'node:string_decoder';
import { CsvError, parse, type Parser } from 'csv-parse';
import { InvalidInputError, ResourceLimitError } from '../../core/errors';

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

export interface CsvOptions extends RecordLimits {
  /** Field delimiter; default: sniffed from the first line among `,` `;` tab `|`. */
  readonly delimiter?: string;
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

/** Characters of the first line looked at to choose the delimiter. */
const SNIFF_CHARS = 4096;

export const CSV_DELIMITERS: readonly string[] = [',', ';', '\t', '|'];

/** The delimiter of a CSV: the candidate that splits its first line (outside quotes) most often; `,` on a tie. */
export function sniffDelimiter(text: string): string {
  const newline = text.indexOf('\n');
  const line = newline >= 0 ? text.slice(0, newline) : text;
  const counts = new Map<string, number>(CSV_DELIMITERS.map((d) => [d, 0]));
  let inQuotes = false;
  for (const char of line) {
    if (char === '"') inQuotes = !inQuotes;
    else if (!inQuotes && counts.has(char)) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  let best = ',';
  for (const [delimiter, count] of counts) if (count > (counts.get(best) ?? 0)) best = delimiter;
  return best;
}

function csvParser(limits: CsvOptions, delimiter: string, maxFields: number, maxRecordChars: number): Parser {
  const parser = parse({
    bom: true,
    delimiter,
    // Files joined from several sources mix line endings; both end a record.
    record_delimiter: ['\r\n', '\n'],
    info: true,
    // Rows with another field count than the header are reported (quarantined) by the caller, per row.
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: maxRecordChars,
    // Called for every field as it is parsed: a record too wide is refused before it is complete.
    cast: (value, context) => {
      if (context.index >= maxFields)
        throw limitError(limits, context.lines, `more than ${maxFields} columns`, 'maxFields');
      return value;
    },
  });
  parser.on('error', () => undefined); // read through `errored` (and the async iterator) instead
  return parser;
}

/** A csv-parse failure as Fineflow's error, naming the file and line. */
function csvFailure(error: unknown, limits: CsvOptions, maxRecordChars: number): Error {
  if (!(error instanceof CsvError)) return error instanceof Error ? error : new Error(String(error));
  const lines: unknown = (error as unknown as { lines?: unknown }).lines;
  const line = typeof lines === 'number' ? lines : 0;
  if (error.code === 'CSV_MAX_RECORD_SIZE')
    return limitError(limits, line, `a record longer than ${maxRecordChars} characters`, 'maxRecordChars');
  const where = `${limits.source ? `${limits.source}:` : 'line '}${line}`;
  return new InvalidInputError(
    `${where}: ${error.message.replace(/^Invalid Record Length: |\.$/g, '')}; a field holding the delimiter, a ` +
      `quote or a newline must be wrapped in "…" with its quotes doubled`,
    { code: 'csv-syntax', line, csvCode: error.code, ...(limits.source ? { source: limits.source } : {}) },
  );
}

type ParsedRecord = { readonly record: string[]; readonly info: { readonly lines: number } };

/** Parse CSV records from chunks; the header is just the first record. */
export async function* readCsvRecords(
  chunks: AsyncIterable<Buffer | string>,
  limits: CsvOptions = {},
): AsyncGenerator<CsvRecord> {
  const maxFields = limits.maxFields ?? DEFAULT_RECORD_LIMITS.maxFields;
  const maxRecordChars = limits.maxRecordChars ?? DEFAULT_RECORD_LIMITS.maxRecordChars;
  const maxRecords = limits.maxRecords ?? DEFAULT_RECORD_LIMITS.maxRecords;
  const decoder = new StringDecoder('utf8');
  let parser: Parser | undefined;
  let records = 0;
  const toRecord = (parsed: ParsedRecord): CsvRecord => {
    // info.lines is where the record ends; newlines inside quoted fields say where it started.
    const inner = parsed.record.reduce((sum, field) => sum + (field.match(/\n/g)?.length ?? 0), 0);
    const line = parsed.info.lines - inner;
    if (++records > maxRecords) throw limitError(limits, line, `more than ${maxRecords} records`, 'maxRecords');
    return { fields: parsed.record, line };
  };
  const drain = function* (active: Parser): Generator<CsvRecord> {
    for (
      let parsed = active.read() as ParsedRecord | null;
      parsed !== null;
      parsed = active.read() as ParsedRecord | null
    )
      yield toRecord(parsed);
    if (active.errored) throw csvFailure(active.errored, limits, maxRecordChars);
  };
  // The delimiter is sniffed from the first line (its first SNIFF_CHARS: enough to count, and a limit
  // still stops a hostile first record early), so text is held back until then.
  let head = '';
  const write = function* (text: string, last = false): Generator<CsvRecord> {
    if (!parser) {
      head += text;
      if (!last && !head.includes('\n') && head.length < SNIFF_CHARS) return;
      const delimiter = limits.delimiter ?? sniffDelimiter(head.replace(/^\uFEFF/, ''));
      parser = csvParser(limits, delimiter, maxFields, maxRecordChars);
      [text, head] = [head, ''];
    }
    if (text === '') return;
    parser.write(text);
    yield* drain(parser);
  };
  for await (const chunk of chunks) yield* write(typeof chunk === 'string' ? chunk : decoder.write(chunk));
  yield* write(decoder.end(), true);
  if (!parser) return;
  parser.end();
  try {
    for await (const parsed of parser as AsyncIterable<ParsedRecord>) yield toRecord(parsed);
  } catch (error) {
    throw csvFailure(error, limits, maxRecordChars);
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
