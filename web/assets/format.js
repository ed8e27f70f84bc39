// Dates and sizes through Intl, always with the time zone of the viewer
// (2026/11/26(木) 13:53 JST); the Japanese era (令和) when the viewer chose it.
import { language } from './i18n.js';

const ERA = 'keiyaku.era';

export function japaneseEra() {
  try {
    return localStorage.getItem(ERA) === 'japanese';
  } catch {
    return false;
  }
}

export function setJapaneseEra(on) {
  try {
    localStorage.setItem(ERA, on ? 'japanese' : 'gregorian');
  } catch {
    // Private modes without storage keep the default.
  }
}

const OPTIONS = {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  weekday: 'short',
  hour: '2-digit',
  minute: '2-digit',
  timeZoneName: 'short',
};

// A point in time as the viewer reads it; '' for none.
export function dateTime(iso, { timeZone } = {}) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const ja = language() === 'ja';
  const locale = ja ? (japaneseEra() ? 'ja-JP-u-ca-japanese' : 'ja-JP') : 'en-GB';
  const options = { ...OPTIONS, timeZone };
  if (ja && japaneseEra()) options.era = 'long';
  return new Intl.DateTimeFormat(locale, options).format(d);
}

// A byte count for people (1.2 MB).
export function bytes(n) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i += 1;
  }
  const f = new Intl.NumberFormat(language() === 'ja' ? 'ja-JP' : 'en-GB', { maximumFractionDigits: i ? 1 : 0 });
  return `${f.format(n)} ${units[i]}`;
}
