/**
 * Time zones as Temporal reads them. The server loads IANA zone files by name (Go's
 * time.LoadLocation), so `europe/berlin` fails there while Node's Intl accepts it: a name must be
 * one Intl knows, spelled with its exact case. Validate and `schedule apply` both ask this module,
 * so they refuse the same names. Aliases (US/Pacific) are real IANA names and stay accepted.
 */

/** Why Temporal would refuse this zone name, with the name to write instead; undefined when it is fine. */
export function timeZoneProblem(name: string): { readonly problem: string; readonly hint: string } | undefined {
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return {
      problem: `unknown time zone ${JSON.stringify(name)}`,
      hint: 'use an IANA name such as UTC, Europe/Berlin or America/New_York',
    };
  }
  const exact = exactSpelling(name, resolved);
  if (exact === name) return undefined;
  return {
    problem: `time zone ${JSON.stringify(name)} is not spelled as Temporal reads it (names are case-sensitive)`,
    hint: `write ${exact}`,
  };
}

/**
 * The IANA spelling of `name`: the zone Intl lists under any case of it, else Intl's canonical
 * name when they differ only in case. An alias Intl does not list (US/Pacific) keeps its spelling.
 */
function exactSpelling(name: string, resolved: string): string {
  if (resolved === name) return name;
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const lower = name.toLowerCase();
  const known = [...zones, 'UTC', 'Etc/UTC', 'GMT'].find((zone) => zone.toLowerCase() === lower);
  if (known) return known;
  return resolved.toLowerCase() === lower ? resolved : name;
}
