// Formatting of numbers, times and durations for people.

const integer = new Intl.NumberFormat('en');

/** 12,345 */
export function count(n) {
  return integer.format(n ?? 0);
}

/** 1.5 KiB, 12 MiB */
export function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n ?? 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min, 3 d 4 h */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Lag in milliseconds with a precision that suits its size. */
export function millis(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`;
}

/** Local date and time of an RFC 3339 timestamp, with milliseconds. */
export function time(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** Milliseconds between two RFC 3339 timestamps (the second defaults to now). */
export function between(from, to) {
  if (!from) return null;
  return (to ? Date.parse(to) : Date.now()) - Date.parse(from);
}

/** Whether a job state is final. */
export function terminal(state) {
  return !['queued', 'running'].includes(state);
}

/** Every job state, in lifecycle order. */
export const states = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'crashed'];
